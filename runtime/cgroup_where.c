/* Where the caller's cgroups are: for each controller (and cgroup2,
 * RT_CG_UNIFIED), the mount point of its hierarchy and the caller's own
 * cgroup in it.
 *
 * One read of /proc/self/cgroup and one of /proc/self/mountinfo, parsed
 * in place: this runs in the monitor on every container start, where a
 * stdio pass per controller over both files cost ~0.1 ms (buffers,
 * sscanf, the copy-on-write faults of a freshly forked process). The
 * first mount of a hierarchy wins, as the kernel lists it first. */
#include "runtime/rt_int.h"

#include "lib/alloc.h"

#include <stdlib.h>
#include <string.h>

static const char *const where_names[RT_CG_NCTRL] = {"memory", "cpu", "pids", "devices", ""};

static char *
next_line(char **p)
{
    char *line = *p, *nl;

    if (!line || !*line)
        return NULL;
    nl = strchr(line, '\n');
    if (nl) {
        *nl = '\0';
        *p = nl + 1;
    } else {
        *p = line + strlen(line);
    }
    return line;
}

/* Is word one of the comma-separated items of list? */
static int
in_list(const char *list, size_t len, const char *word)
{
    size_t n = strlen(word);

    for (const char *p = list, *end = list + len; p < end;) {
        size_t item = strcspn(p, ",");

        if (item > (size_t)(end - p))
            item = (size_t)(end - p);
        if (item == n && memcmp(p, word, n) == 0)
            return 1;
        p += item + 1;
    }
    return 0;
}

/* "hierarchy:controllers:path" lines; "0::path" is the v2 one. */
static void
parse_cgroup(struct rt_cg_where *w, char *text)
{
    char *line;

    while ((line = next_line(&text))) {
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

        if (!c2)
            continue;
        for (int c = 0; c < RT_CG_NCTRL; c++) {
            int match = c == RT_CG_UNIFIED ? c1 - line == 1 && line[0] == '0' && c2 == c1 + 1
                                           : in_list(c1 + 1, (size_t)(c2 - c1 - 1), where_names[c]);

            if (match && !w->own[c])
                w->own[c] = sk_strdup(c2 + 1);
        }
    }
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void
unescape_octal(char *s)
{
    char *out = s;

    for (; *s; s++) {
        if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
            s[3] >= '0' && s[3] <= '7') {
            *out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
            s += 3;
        } else {
            *out++ = *s;
        }
    }
    *out = '\0';
}

/* Field i (0-based) of a space-separated line, NUL-terminated in place. */
static char *
field(char *line, int i)
{
    char *p = line;

    for (; i > 0 && p; i--) {
        p = strchr(p, ' ');
        if (p)
            p++;
    }
    if (p)
        p[strcspn(p, " ")] = '\0';
    return p;
}

/* "id parent dev root mountpoint opts [optional...] - fstype source super" */
static void
parse_mountinfo(struct rt_cg_where *w, char *text)
{
    char *line;

    while ((line = next_line(&text))) {
        char *sep = strstr(line, " - "), *fstype, *super, *mnt;
        int v2;

        if (!sep)
            continue;
        *sep = '\0';
        fstype = sep + 3;
        super = strchr(fstype, ' ');
        super = super ? strchr(super + 1, ' ') : NULL;
        if (!super)
            continue;
        *strchr(fstype, ' ') = '\0';
        super++;
        v2 = strcmp(fstype, "cgroup2") == 0;
        if (!v2 && strcmp(fstype, "cgroup") != 0)
            continue;
        mnt = field(line, 4);
        if (!mnt)
            continue;
        unescape_octal(mnt);
        for (int c = 0; c < RT_CG_NCTRL; c++) {
            int match =
                c == RT_CG_UNIFIED ? v2 : !v2 && in_list(super, strlen(super), where_names[c]);

            if (match && !w->mount[c])
                w->mount[c] = sk_strdup(mnt);
        }
    }
}

void
rt_cg_where_parse(struct rt_cg_where *w, char *cgroup_text, char *mountinfo_text)
{
    memset(w, 0, sizeof(*w));
    if (cgroup_text)
        parse_cgroup(w, cgroup_text);
    if (mountinfo_text)
        parse_mountinfo(w, mountinfo_text);
}

void
rt_cg_where_read(struct rt_cg_where *w)
{
    char *cgroup = NULL, *mountinfo = NULL;
    size_t len;

    /* Unreadable files leave the hierarchies unknown: limits then fail
     * as unenforceable, naming the controller. */
    rt_read_file("/proc/self/cgroup", &cgroup, &len, NULL);
    rt_read_file("/proc/self/mountinfo", &mountinfo, &len, NULL);
    rt_cg_where_parse(w, cgroup, mountinfo);
    free(cgroup);
    free(mountinfo);
}

void
rt_cg_where_release(struct rt_cg_where *w)
{
    for (int c = 0; c < RT_CG_NCTRL; c++) {
        free(w->mount[c]);
        free(w->own[c]);
        w->mount[c] = w->own[c] = NULL;
    }
}
