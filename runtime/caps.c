/* Capabilities: names, and dropping to the configured sets with libcap. */
#include "runtime/rt_int.h"

#include <errno.h>
#include <linux/capability.h>
#include <strings.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#define CAPBIT(c) (1ULL << (c))

/* Docker's and runc's default set: enough for a typical service, nothing
 * that reaches beyond the container (no SYS_ADMIN, NET_ADMIN, ...). */
const uint64_t rt_caps_default =
    CAPBIT(CAP_CHOWN) | CAPBIT(CAP_DAC_OVERRIDE) | CAPBIT(CAP_FSETID) | CAPBIT(CAP_FOWNER) |
    CAPBIT(CAP_MKNOD) | CAPBIT(CAP_NET_RAW) | CAPBIT(CAP_SETGID) | CAPBIT(CAP_SETUID) |
    CAPBIT(CAP_SETFCAP) | CAPBIT(CAP_SETPCAP) | CAPBIT(CAP_NET_BIND_SERVICE) |
    CAPBIT(CAP_SYS_CHROOT) | CAPBIT(CAP_KILL) | CAPBIT(CAP_AUDIT_WRITE);

static const char *const cap_names[] = {
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
};
#define NCAPS ((int)(sizeof(cap_names) / sizeof(cap_names[0])))

int
rt_cap_from_name(const char *name)
{
    if (strncasecmp(name, "CAP_", 4) == 0)
        name += 4;
    for (int i = 0; i < NCAPS; i++)
        if (strcasecmp(cap_names[i], name) == 0)
            return i;
    return -1;
}

const char *
rt_cap_name(int cap)
{
    return cap >= 0 && cap < NCAPS ? cap_names[cap] : NULL;
}

static int
last_cap(void)
{
    int last = (int)cap_max_bits() - 1;

    return last >= NCAPS ? NCAPS - 1 : last;
}

static int
drop_bounding(uint64_t keep, struct sk_err *err)
{
    for (int c = 0; c <= last_cap(); c++) {
        if (keep & CAPBIT(c))
            continue;
        if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
            return sk_err_sys(err, errno, "drop capability '%s' from the bounding set",
                              cap_names[c]);
    }
    return 0;
}

static int
set_flags(cap_t caps, cap_flag_t flag, uint64_t bits)
{
    for (int c = 0; c <= last_cap(); c++) {
        cap_value_t v = c;

        if ((bits & CAPBIT(c)) && cap_set_flag(caps, flag, 1, &v, CAP_SET) < 0)
            return -1;
    }
    return 0;
}

/* The bounding set is dropped first, while still root (it needs
 * CAP_SETPCAP in the effective set, which setuid to a non-root user
 * clears). The process sets follow after setuid with PR_SET_KEEPCAPS (so
 * permitted survived), then ambient (a subset of permitted+inheritable). */
int
rt_caps_drop_bounding(const struct rt_process *proc, struct sk_err *err)
{
    return drop_bounding(proc->caps[RT_CAP_BOUNDING], err);
}

int
rt_caps_apply(const struct rt_process *proc, struct sk_err *err)
{
    cap_t caps;
    int rc = 0;

    caps = cap_init();
    if (!caps)
        return sk_err_sys(err, errno, "cap_init");
    if (set_flags(caps, CAP_EFFECTIVE, proc->caps[RT_CAP_EFFECTIVE]) < 0 ||
        set_flags(caps, CAP_PERMITTED, proc->caps[RT_CAP_PERMITTED]) < 0 ||
        set_flags(caps, CAP_INHERITABLE, proc->caps[RT_CAP_INHERITABLE]) < 0) {
        rc = sk_err_sys(err, errno, "cap_set_flag");
        goto out_free;
    }
    if (cap_set_proc(caps) < 0) {
        rc = sk_err_sys(err, errno, "set capabilities");
        goto out_free;
    }
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    for (int c = 0; c <= last_cap(); c++) {
        if ((proc->caps[RT_CAP_AMBIENT] & CAPBIT(c)) &&
            prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0) {
            rc = sk_err_sys(err, errno, "raise ambient capability '%s'", cap_names[c]);
            goto out_free;
        }
    }
out_free:
    cap_free(caps);
    return rc;
}
