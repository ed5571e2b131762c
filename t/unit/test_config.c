/* lib/config: the schema of skiffd.conf, its example file and man page.
 * Run from the repository root (make unit does). */
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/config.h"
#include "lib/log.h"
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXAMPLE "etc/skiffd.conf"
#define MANPAGE "man/skiffd.conf.5"

static struct sk_config cfg;
static struct sk_conf_diag diag;

static void
setup(void)
{
    sk_config_init(&cfg);
    sk_conf_diag_init(&diag);
}

static void
teardown(void)
{
    sk_config_release(&cfg);
    sk_conf_diag_release(&diag);
}

static char *
slurp(const char *path)
{
    struct sk_buf buf = SK_BUF_INIT;
    char chunk[4096];
    size_t n;
    FILE *f = fopen(path, "r");

    ck_assert_msg(f != NULL, "cannot open '%s' (run from the repository root)", path);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        sk_buf_append(&buf, chunk, n);
    fclose(f);
    return sk_buf_detach(&buf, NULL);
}

static char *
print_to_string(const struct sk_config *c)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);

    ck_assert_ptr_nonnull(f);
    sk_config_print(c, f);
    fclose(f);
    return out;
}

static const char *
first_problem(void)
{
    return sk_conf_diag_count(&diag) ? sk_conf_diag_get(&diag, 0)->text : "";
}

START_TEST(defaults_are_the_documented_ones)
{
    ck_assert_str_ne(cfg.server.name, "");
    ck_assert_str_eq(cfg.agent.node_name, cfg.server.name);
    ck_assert_str_eq(cfg.server.data_dir, "/var/lib/skiff");
    ck_assert_str_eq(cfg.server.socket, "/run/skiff/api.sock");
    ck_assert_str_eq(cfg.server.socket_mode, "0660");
    ck_assert_str_eq(cfg.server.socket_group, "skiff");
    ck_assert_str_eq(cfg.server.listen, "127.0.0.1:6443");
    ck_assert_str_eq(cfg.server.peer_listen, "127.0.0.1:2380");
    ck_assert_str_eq(cfg.server.peers, "");
    ck_assert_uint_eq(cfg.store.snapshot_every, 100000);
    ck_assert_uint_eq(cfg.store.election_timeout_ms, 1000);
    ck_assert_uint_eq(cfg.store.heartbeat_interval_ms, 100);
    ck_assert(cfg.store.fsync);
    ck_assert_str_eq(cfg.agent.runtime_root, "/var/lib/skiff/runtime");
    ck_assert_str_eq(cfg.agent.cgroup_root, "skiff");
    ck_assert_str_eq(cfg.agent.cluster_cidr, "10.244.0.0/16");
    ck_assert_str_eq(cfg.agent.service_cidr, "10.96.0.0/12");
    ck_assert_str_eq(cfg.agent.bridge, "skiff0");
    ck_assert_uint_eq(cfg.agent.heartbeat_interval_ms, 10000);
    ck_assert_int_eq(cfg.log.level, SK_LOG_INFO);
    ck_assert_int_eq(cfg.log.format, SK_LOG_TEXT);
}
END_TEST

START_TEST(example_file_parses_cleanly_and_yields_the_defaults)
{
    char *before = print_to_string(&cfg), *after;

    ck_assert_msg(sk_config_load(&cfg, EXAMPLE, &diag) == 0, "%s", first_problem());
    ck_assert_uint_eq(sk_conf_diag_count(&diag), 0);
    after = print_to_string(&cfg);
    ck_assert_str_eq(before, after);
    free(before);
    free(after);
}
END_TEST

/* The example shows every key as ";key = value". With the ';' removed
 * the file must still parse, and each value must be the default (keys
 * whose default is computed, like the host name, show an example). */
START_TEST(example_values_uncommented_are_valid_and_equal_the_defaults)
{
    const struct sk_conf_opt *opt;
    struct sk_buf text = SK_BUF_INIT, got = SK_BUF_INIT, want = SK_BUF_INIT;
    struct sk_config defaults;
    char *example = slurp(EXAMPLE), *line, *save = NULL;

    for (line = strtok_r(example, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == ';' && line[1] >= 'a' && line[1] <= 'z')
            line++;
        sk_buf_printf(&text, "%s\n", line);
    }
    ck_assert_msg(sk_config_load_string(&cfg, "uncommented", text.data, &diag) == 0, "%s",
                  first_problem());
    sk_config_init(&defaults);
    for (opt = sk_config_options(); opt->section; opt++) {
        if (!opt->def)
            continue;
        sk_buf_reset(&got);
        sk_buf_reset(&want);
        sk_conf_value_format(opt, &cfg, &got);
        sk_conf_value_format(opt, &defaults, &want);
        ck_assert_msg(strcmp(got.data, want.data) == 0, "%s.%s: example says '%s', default is '%s'",
                      opt->section, opt->key, got.data, want.data);
    }
    sk_config_release(&defaults);
    sk_buf_release(&text);
    sk_buf_release(&got);
    sk_buf_release(&want);
    free(example);
}
END_TEST

/* A set of "section.key" names. */
struct names {
    char **v;
    size_t n;
};

static void
names_add(struct names *ns, const char *section, const char *key, size_t keylen)
{
    ns->v = sk_reallocarray(ns->v, ns->n + 1, sizeof(*ns->v));
    ns->v[ns->n++] = sk_asprintf("%s.%.*s", section, (int)keylen, key);
}

static bool
names_has(const struct names *ns, const char *section, const char *key)
{
    char *want = sk_asprintf("%s.%s", section, key);
    size_t i;
    bool found = false;

    for (i = 0; i < ns->n && !found; i++)
        found = strcmp(ns->v[i], want) == 0;
    free(want);
    return found;
}

static void
names_free(struct names *ns)
{
    size_t i;

    for (i = 0; i < ns->n; i++)
        free(ns->v[i]);
    free(ns->v);
}

/* Keys of the example: "[section]" headers and ";key = value" lines. */
static void
example_keys(struct names *ns)
{
    char *text = slurp(EXAMPLE), *line, *save = NULL, section[64] = "";
    size_t len;

    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (sscanf(line, "[%63[^]]]", section) == 1)
            continue;
        if (line[0] != ';' || !(line[1] >= 'a' && line[1] <= 'z'))
            continue;
        len = strcspn(line + 1, " =");
        ck_assert_msg(section[0], "key line before any section: %s", line);
        names_add(ns, section, line + 1, len);
    }
    free(text);
}

/* Keys of the man page: ".Ss \&[section]\&" then ".It Ic key ..." until
 * the next .Sh or .Ss. */
static void
manpage_keys(struct names *ns, struct names *lines)
{
    char *text = slurp(MANPAGE), *line, *save = NULL, section[64] = "";
    size_t len;

    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (sscanf(line, ".Ss \\&[%63[^]]]", section) == 1)
            continue;
        if (sk_startswith(line, ".Sh") || sk_startswith(line, ".Ss")) {
            section[0] = '\0';
            continue;
        }
        if (!section[0] || !sk_startswith(line, ".It Ic "))
            continue;
        len = strcspn(line + 7, " ");
        names_add(ns, section, line + 7, len);
        lines->v = sk_reallocarray(lines->v, lines->n + 1, sizeof(*lines->v));
        lines->v[lines->n++] = sk_strdup(line);
    }
    free(text);
}

/* ".It Ic key Ar type Pq default: Li DEF" (Pa for paths). */
static bool
ends_with_default(const char *line, const char *def)
{
    char *li = sk_asprintf("Pq default: Li %s", def), *pa = sk_asprintf("Pq default: Pa %s", def);
    size_t len = strlen(line), n = strlen(li);
    bool ok = len >= n && (strcmp(line + len - n, li) == 0 || strcmp(line + len - n, pa) == 0);

    free(li);
    free(pa);
    return ok;
}

START_TEST(every_option_is_in_the_example_file_and_nothing_else)
{
    struct names ns = {NULL, 0};
    const struct sk_conf_opt *opt;
    size_t i, count = 0;

    example_keys(&ns);
    for (opt = sk_config_options(); opt->section; opt++, count++)
        ck_assert_msg(names_has(&ns, opt->section, opt->key), "%s.%s missing from " EXAMPLE,
                      opt->section, opt->key);
    for (i = 0; i < ns.n; i++)
        ck_assert_msg(sk_config_options() && sk_conf_find(sk_config_options(), ns.v[i]),
                      EXAMPLE " lists '%s', which is no option", ns.v[i]);
    ck_assert_uint_eq(ns.n, count);
    names_free(&ns);
}
END_TEST

START_TEST(every_option_is_in_the_man_page_with_its_default)
{
    struct names ns = {NULL, 0}, lines = {NULL, 0};
    const struct sk_conf_opt *opt;
    size_t i, count = 0;
    char *want;

    manpage_keys(&ns, &lines);
    for (opt = sk_config_options(); opt->section; opt++, count++) {
        want = sk_asprintf("%s.%s", opt->section, opt->key);
        for (i = 0; i < ns.n && strcmp(ns.v[i], want) != 0; i++)
            ;
        ck_assert_msg(i < ns.n, "%s missing from " MANPAGE, want);
        if (opt->def && *opt->def)
            ck_assert_msg(ends_with_default(lines.v[i], opt->def),
                          MANPAGE ": %s does not end in 'default: Li %s' (or Pa)", want, opt->def);
        else
            ck_assert_msg(strstr(lines.v[i], "default:"), MANPAGE ": %s shows no default", want);
        free(want);
    }
    for (i = 0; i < ns.n; i++)
        ck_assert_msg(sk_conf_find(sk_config_options(), ns.v[i]),
                      MANPAGE " documents '%s', which is no option", ns.v[i]);
    ck_assert_uint_eq(ns.n, count);
    names_free(&ns);
    names_free(&lines);
}
END_TEST

START_TEST(every_option_has_help)
{
    const struct sk_conf_opt *opt;

    for (opt = sk_config_options(); opt->section; opt++)
        ck_assert_msg(opt->help && *opt->help && !strchr(opt->help, '\n'), "%s.%s", opt->section,
                      opt->key);
}
END_TEST

START_TEST(overrides_win_and_report_the_option)
{
    struct sk_err err;

    ck_assert_int_eq(sk_config_load_string(&cfg, "t.conf", "[server]\nlisten = :7000\n", &diag), 0);
    sk_err_init(&err);
    ck_assert_int_eq(sk_config_set(&cfg, "server.listen", "[::1]:7001", &err), 0);
    ck_assert_str_eq(cfg.server.listen, "[::1]:7001");
    ck_assert_int_eq(sk_config_set(&cfg, "server.listen", "127.0.0.1:99999", &err), -EINVAL);
    ck_assert_str_eq(err.msg, "server.listen: bad port '99999'");
    ck_assert_str_eq(cfg.server.listen, "[::1]:7001");
    ck_assert_int_eq(sk_config_set(&cfg, "log.level", "debug", &err), 0);
    ck_assert_int_eq(cfg.log.level, SK_LOG_DEBUG);
    ck_assert_int_eq(sk_config_set(&cfg, "server.nope", "1", &err), -ENOENT);
}
END_TEST

static const struct {
    const char *name, *value;
    bool ok;
} checks[] = {
    {"server.name", "node-1.example", true},
    {"server.name", "n1", true},
    {"server.name", "Node1", false},
    {"server.name", "-a", false},
    {"server.name", "a-", false},
    {"server.name", "a_b", false},
    {"server.name", "a..b", false},
    {"server.name", "", false},
    {"agent.node-name", "worker-7", true},
    {"agent.node-name", "worker 7", false},
    {"server.socket-mode", "0660", true},
    {"server.socket-mode", "660", true},
    {"server.socket-mode", "0777", true},
    {"server.socket-mode", "0999", false},
    {"server.socket-mode", "4660", false},
    {"server.socket-mode", "06600", false},
    {"server.socket-mode", "rw", false},
    {"server.socket-group", "skiff", true},
    {"server.socket-group", "", true},
    {"server.socket-group", "1000", true},
    {"server.socket-group", "bad group", false},
    {"server.socket-group", "-x", false},
    {"server.listen", "", true},
    {"server.peer-listen", "10.0.0.1:2380", true},
    {"server.peers", "", true},
    {"server.peers", "node2=10.0.0.2:2380", true},
    {"server.peers", "node2=10.0.0.2:2380, node3=[fd00::3]:2380,node4=n4.lan:2380", true},
    {"server.peers", "node2", false},
    {"server.peers", "node2=10.0.0.2", false},
    {"server.peers", "Node2=10.0.0.2:2380", false},
    {"server.peers", "a=10.0.0.2:2380,a=10.0.0.3:2380", false},
    {"server.peers", "a=10.0.0.2:2380,,b=10.0.0.3:2380", false},
    {"server.peers", "a=10.0.0.2:2380,", false},
    {"server.cluster-secret-file", "", true},
    {"server.token-file", "tokens.csv", false},
    {"store.snapshot-every", "1", true},
    {"store.snapshot-every", "0", false},
    {"store.election-timeout", "5ms", false},
    {"store.heartbeat-interval", "0", false},
    {"store.fsync", "no", true},
    {"agent.cgroup-root", "skiff", true},
    {"agent.cgroup-root", "skiff/pods", true},
    {"agent.cgroup-root", "/skiff", false},
    {"agent.cgroup-root", "../escape", false},
    {"agent.cgroup-root", "a/../b", false},
    {"agent.cgroup-root", "a//b", false},
    {"agent.cgroup-root", "a/./b", false},
    {"agent.cgroup-root", "a b", false},
    {"agent.cgroup-root", "", false},
    {"agent.bridge", "br-skiff-15char", true},
    {"agent.bridge", "br-skiff-16chars", false},
    {"agent.bridge", "a/b", false},
    {"agent.bridge", "eth0:1", false},
    {"agent.bridge", "..", false},
    {"agent.cluster-cidr", "10.244.1.0/16", false},
    {"agent.heartbeat-interval", "500ms", false},
    {"log.level", "warn", true},
    {"log.level", "verbose", false},
    {"log.format", "JSON", true},
};

START_TEST(schema_validates_each_key)
{
    struct sk_err err;
    int rc;

    sk_err_init(&err);
    rc = sk_config_set(&cfg, checks[_i].name, checks[_i].value, &err);
    if (checks[_i].ok)
        ck_assert_msg(rc == 0, "%s=%s: %s", checks[_i].name, checks[_i].value, err.msg);
    else
        ck_assert_msg(rc == -EINVAL && sk_startswith(err.msg, checks[_i].name), "%s=%s: rc %d",
                      checks[_i].name, checks[_i].value, rc);
}
END_TEST

START_TEST(election_timeout_must_exceed_heartbeat)
{
    ck_assert_int_eq(sk_config_load_string(&cfg, "t.conf",
                                           "[store]\nelection-timeout = 100ms\n"
                                           "heartbeat-interval = 100ms\n",
                                           &diag),
                     -EINVAL);
    ck_assert_uint_eq(sk_conf_diag_count(&diag), 1);
    ck_assert_str_eq(first_problem(), "t.conf: store.election-timeout (100ms) must be longer than "
                                      "store.heartbeat-interval (100ms)");
}
END_TEST

static const struct {
    const char *cluster, *service;
    bool overlap;
} nets[] = {
    {"10.244.0.0/16", "10.96.0.0/12", false},    {"10.244.0.0/16", "10.244.128.0/17", true},
    {"10.244.0.0/16", "10.0.0.0/8", true},       {"10.244.0.0/16", "10.245.0.0/16", false},
    {"0.0.0.0/0", "192.168.0.0/16", true},       {"192.168.0.0/24", "192.168.0.0/24", true},
    {"192.168.0.0/24", "192.168.1.0/24", false},
};

START_TEST(cluster_and_service_networks_must_not_overlap)
{
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(sk_config_set(&cfg, "agent.cluster-cidr", nets[_i].cluster, &err), 0);
    ck_assert_int_eq(sk_config_set(&cfg, "agent.service-cidr", nets[_i].service, &err), 0);
    if (nets[_i].overlap) {
        ck_assert_int_eq(sk_config_validate(&cfg, &err), -EINVAL);
        ck_assert(strstr(err.msg, "overlap"));
    } else {
        ck_assert_msg(sk_config_validate(&cfg, &err) == 0, "%s", err.msg);
    }
}
END_TEST

static const struct {
    const char *cluster, *mask;
    bool ok;
} masks[] = {
    {"10.244.0.0/16", "24", true},  {"10.244.0.0/16", "16", true},  {"10.244.0.0/16", "32", false},
    {"10.244.0.0/16", "15", false}, {"11.0.0.0/8", "24", true},     {"11.0.0.0/8", "25", false},
    {"10.244.0.0/22", "24", true},  {"10.244.0.0/22", "21", false},
};

START_TEST(node_cidr_mask_cuts_the_cluster_network_into_1_to_65536_parts)
{
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(sk_config_set(&cfg, "agent.cluster-cidr", masks[_i].cluster, &err), 0);
    if (sk_config_set(&cfg, "controllers.node-cidr-mask-size", masks[_i].mask, &err) < 0) {
        ck_assert_msg(!masks[_i].ok, "%s", err.msg); /* out of the key's own range */
        return;
    }
    if (masks[_i].ok) {
        ck_assert_msg(sk_config_validate(&cfg, &err) == 0, "%s", err.msg);
    } else {
        ck_assert_int_eq(sk_config_validate(&cfg, &err), -EINVAL);
        ck_assert_msg(strstr(err.msg, "controllers.node-cidr-mask-size"), "%s", err.msg);
    }
}
END_TEST

START_TEST(bad_file_reports_every_problem)
{
    ck_assert_int_eq(sk_config_load_string(&cfg, "skiffd.conf",
                                           "[server]\n"
                                           "lisen = :1\n"
                                           "listen = 1.2.3.4:99999\n"
                                           "[store]\n"
                                           "fsync = maybe\n"
                                           "election-timeout = 50ms\n"
                                           "[agnet]\n"
                                           "[agent]\n"
                                           "service-cidr = 10.244.16.0/20\n",
                                           &diag),
                     -EINVAL);
    ck_assert_uint_eq(sk_conf_diag_count(&diag), 6);
    ck_assert_str_eq(sk_conf_diag_get(&diag, 0)->text,
                     "skiffd.conf:2: unknown key 'lisen' in section [server]");
    ck_assert_str_eq(sk_conf_diag_get(&diag, 1)->text,
                     "skiffd.conf:3: server.listen: bad port '99999'");
    ck_assert_str_eq(sk_conf_diag_get(&diag, 2)->text,
                     "skiffd.conf:5: store.fsync: bad boolean 'maybe' (use true/false, yes/no, "
                     "on/off or 1/0)");
    ck_assert_str_eq(sk_conf_diag_get(&diag, 3)->text, "skiffd.conf:7: unknown section [agnet]");
    ck_assert_str_eq(sk_conf_diag_get(&diag, 4)->text,
                     "skiffd.conf: store.election-timeout (50ms) must be longer than "
                     "store.heartbeat-interval (100ms)");
    ck_assert_str_eq(sk_conf_diag_get(&diag, 5)->text,
                     "skiffd.conf: agent.cluster-cidr 10.244.0.0/16 and agent.service-cidr "
                     "10.244.16.0/20 overlap");
}
END_TEST

START_TEST(missing_file_is_reported)
{
    ck_assert_int_eq(sk_config_load(&cfg, "/nonexistent/skiffd.conf", &diag), -ENOENT);
    ck_assert_str_eq(first_problem(), "/nonexistent/skiffd.conf: cannot open "
                                      "'/nonexistent/skiffd.conf': No such file or directory");
}
END_TEST

START_TEST(printed_config_loads_back_unchanged)
{
    char *first, *second;
    struct sk_config again;

    ck_assert_int_eq(sk_config_set(&cfg, "server.peers", "b=10.0.0.2:2380,c=10.0.0.3:2380", NULL),
                     0);
    ck_assert_int_eq(sk_config_set(&cfg, "server.listen", "", NULL), 0);
    ck_assert_int_eq(sk_config_set(&cfg, "store.election-timeout", "1m30s", NULL), 0);
    first = print_to_string(&cfg);
    sk_config_init(&again);
    ck_assert_msg(sk_config_load_string(&again, "printed", first, &diag) == 0, "%s",
                  first_problem());
    second = print_to_string(&again);
    ck_assert_str_eq(first, second);
    ck_assert(strstr(first, "[server]\nname = "));
    ck_assert(strstr(first, "listen = \"\"\n"));
    ck_assert(strstr(first, "election-timeout = 1m30s\n"));
    sk_config_release(&again);
    free(first);
    free(second);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("schema");
    TCase *td = tcase_create("docs");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, defaults_are_the_documented_ones);
    tcase_add_test(tc, overrides_win_and_report_the_option);
    tcase_add_loop_test(tc, schema_validates_each_key, 0,
                        (int)(sizeof(checks) / sizeof(checks[0])));
    tcase_add_test(tc, election_timeout_must_exceed_heartbeat);
    tcase_add_loop_test(tc, cluster_and_service_networks_must_not_overlap, 0,
                        (int)(sizeof(nets) / sizeof(nets[0])));
    tcase_add_loop_test(tc, node_cidr_mask_cuts_the_cluster_network_into_1_to_65536_parts, 0,
                        sizeof(masks) / sizeof(masks[0]));
    tcase_add_test(tc, bad_file_reports_every_problem);
    tcase_add_test(tc, missing_file_is_reported);
    tcase_add_test(tc, printed_config_loads_back_unchanged);
    suite_add_tcase(s, tc);

    tcase_add_checked_fixture(td, setup, teardown);
    tcase_add_test(td, example_file_parses_cleanly_and_yields_the_defaults);
    tcase_add_test(td, example_values_uncommented_are_valid_and_equal_the_defaults);
    tcase_add_test(td, every_option_is_in_the_example_file_and_nothing_else);
    tcase_add_test(td, every_option_is_in_the_man_page_with_its_default);
    tcase_add_test(td, every_option_has_help);
    suite_add_tcase(s, td);
    return unit_main(s);
}
