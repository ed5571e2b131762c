/* api/tokens.c, api/authn.c, the [auth] syntax of lib/config.c and
 * api_peer_in_group: who a peer of the API is. */
#include "api/authn.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/config.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct api_tokens *
parse_ok(const char *text)
{
    struct api_tokens *t = NULL;
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_msg(api_tokens_parse("tokens.csv", text, strlen(text), &t, &err) == 0, "%s", err.msg);
    return t;
}

static void
lookup_is(const struct api_tokens *t, const char *token, const char *user, const char *groups)
{
    struct api_peer peer = {0};

    ck_assert_msg(api_tokens_lookup(t, token, &peer) == 0, "token '%s' not found", token);
    ck_assert_str_eq(peer.user, user);
    ck_assert_str_eq(peer.groups, groups);
}

START_TEST(token_file_records_quotes_comments_and_blank_lines)
{
    struct api_tokens *t = parse_ok("# admins\n"
                                    "\n"
                                    "tok-a,alice,1,\"system:masters,dev\"\n"
                                    "   # indented comment\n"
                                    "tok-b, bob ,2\r\n"
                                    "\"tok-c\",\"carol \"\"cc\"\"\",3,\" ops , ,qa \",extra,cols\n"
                                    "tok-d,system:node:n1,4,system:nodes\n"
                                    "tok-e,erin,5,\"system:authenticated\"");
    struct api_peer peer = {0};

    ck_assert_uint_eq(api_tokens_count(t), 5);
    lookup_is(t, "tok-a", "alice", "system:masters,dev,system:authenticated");
    /* leading blanks are dropped, trailing ones kept (as Go's csv) */
    lookup_is(t, "tok-b", "bob ", "system:authenticated");
    lookup_is(t, "tok-c", "carol \"cc\"", "ops,qa,system:authenticated");
    lookup_is(t, "tok-d", "system:node:n1", "system:nodes,system:authenticated");
    lookup_is(t, "tok-e", "erin", "system:authenticated");
    ck_assert_int_eq(api_tokens_lookup(t, "tok-x", &peer), -ENOENT);
    ck_assert_int_eq(api_tokens_lookup(t, "", &peer), -ENOENT);
    ck_assert_int_eq(api_tokens_lookup(t, "tok-", &peer), -ENOENT);
    ck_assert_int_eq(api_tokens_lookup(NULL, "tok-a", &peer), -ENOENT);
    api_tokens_free(t);
}
END_TEST

START_TEST(empty_token_file_has_no_tokens)
{
    struct api_tokens *t = parse_ok("");

    ck_assert_uint_eq(api_tokens_count(t), 0);
    api_tokens_free(t);
    t = parse_ok("# only a comment\n\n");
    ck_assert_uint_eq(api_tokens_count(t), 0);
    api_tokens_free(t);
}
END_TEST

static const struct {
    const char *text;
    const char *msg;
} bad_token_files[] = {
    {"tok,alice\n", "tokens.csv:1: expected at least 3 columns (token,user,uid), found 2"},
    {"ok,a,1\ntok\n", "tokens.csv:2: expected at least 3 columns (token,user,uid), found 1"},
    {",alice,1\n", "tokens.csv:1: empty token"},
    {"tok,,1\n", "tokens.csv:1: empty user name"},
    {"t1,a,1\n# c\nt1,b,2\n", "tokens.csv:3: duplicate token (also on line 1)"},
    {"tok,\"alice,1\n", "tokens.csv:1: column 2: quote not closed"},
    {"tok,\"alice\"x,1\n", "tokens.csv:1: column 2: text after the closing quote"},
    {"tok,al\"ice,1\n", "tokens.csv:1: column 2: quote inside an unquoted value (quote the "
                        "whole value and double the quote)"},
    {"\"to k\",alice,1\n", "tokens.csv:1: token contains a blank or a control character"},
    {"tok,ali\tce,1\n", "tokens.csv:1: user name contains a control character"},
    {"tok,aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,1\n",
     "tokens.csv:1: user name longer than 63 bytes"},
};

START_TEST(malformed_token_files_name_file_and_line)
{
    size_t i;

    for (i = 0; i < sizeof(bad_token_files) / sizeof(bad_token_files[0]); i++) {
        struct api_tokens *t = NULL;
        struct sk_err err;
        const char *text = bad_token_files[i].text;

        sk_err_init(&err);
        ck_assert_int_eq(api_tokens_parse("tokens.csv", text, strlen(text), &t, &err), -EINVAL);
        ck_assert_ptr_null(t);
        ck_assert_str_eq(err.msg, bad_token_files[i].msg);
    }
}
END_TEST

START_TEST(malformed_token_file_never_shows_the_token)
{
    const char *text = "s3cr3t-token,a,1\ns3cr3t-token,b,2\n";
    struct api_tokens *t = NULL;
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_lt(api_tokens_parse("f", text, strlen(text), &t, &err), 0);
    ck_assert_ptr_null(strstr(err.msg, "s3cr3t"));
}
END_TEST

START_TEST(too_many_groups_is_an_error_and_nul_bytes_too)
{
    struct sk_buf text = SK_BUF_INIT;
    struct api_tokens *t = NULL;
    struct sk_err err;
    int i;

    sk_buf_puts(&text, "tok,alice,1,\"");
    for (i = 0; i < 30; i++)
        sk_buf_printf(&text, "group-number-%02d,", i);
    sk_buf_puts(&text, "\"\n");
    sk_err_init(&err);
    ck_assert_int_eq(api_tokens_parse("f", text.data, text.len, &t, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "f:1: groups longer than 255 bytes (with system:authenticated)");
    sk_buf_release(&text);
    sk_err_init(&err);
    ck_assert_int_eq(api_tokens_parse("f", "a,b,1\nt\0k,u,2\n", 14, &t, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "f:2: line contains a NUL byte");
}
END_TEST

START_TEST(token_file_load_reads_and_flags_exposed_files)
{
    char path[512];
    struct api_tokens *t = NULL;
    struct sk_err err;
    FILE *f;

    snprintf(path, sizeof(path), "%s/tokens.csv", unit_tmpdir());
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("abc,alice,1,admins\n", f);
    fclose(f);
    chmod(path, 0600);
    sk_err_init(&err);
    ck_assert_int_eq(api_tokens_load(path, &t, &err), 0);
    lookup_is(t, "abc", "alice", "admins,system:authenticated");
    api_tokens_free(t);
    ck_assert_int_eq(api_tokens_load("/nonexistent/tokens.csv", &t, &err), -ENOENT);
    ck_assert_str_eq(err.msg, "token file '/nonexistent/tokens.csv': No such file or directory");
    ck_assert(!api_tokens_file_exposed(0100600, 0, 0));
    ck_assert(!api_tokens_file_exposed(0100400, 1000, 1000));
    ck_assert(api_tokens_file_exposed(0100644, 0, 0));
    ck_assert(api_tokens_file_exposed(0100640, 0, 0));
    ck_assert(api_tokens_file_exposed(0100604, 0, 0));
    ck_assert(api_tokens_file_exposed(0100600, 1000, 0));
}
END_TEST

/* ---- [auth] syntax ---- */

START_TEST(idmap_parses_users_with_groups_and_names)
{
    struct sk_config_idmap *v = NULL;
    size_t n = 0;
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(sk_config_idmap_parse("  1000=alice/dev,ops\t1001=system:node:n1/system:nodes "
                                           "www-data=web",
                                           true, &v, &n, &err),
                     0);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(v[0].id, "1000");
    ck_assert_str_eq(v[0].user, "alice");
    ck_assert_str_eq(v[0].groups, "dev,ops");
    ck_assert_str_eq(v[1].user, "system:node:n1");
    ck_assert_str_eq(v[1].groups, "system:nodes");
    ck_assert_str_eq(v[2].id, "www-data");
    ck_assert_str_eq(v[2].user, "web");
    ck_assert_str_eq(v[2].groups, "");
    free(v);
    ck_assert_int_eq(sk_config_idmap_parse("27=system:masters 1002=dev,qa", false, &v, &n, &err),
                     0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(v[0].groups, "system:masters");
    ck_assert_str_eq(v[1].groups, "dev,qa");
    free(v);
    ck_assert_int_eq(sk_config_idmap_parse("", true, &v, &n, &err), 0);
    ck_assert_uint_eq(n, 0);
    free(v);
}
END_TEST

static const struct {
    const char *text;
    bool users;
    const char *msg;
} bad_idmaps[] = {
    {"1000", true, "entry '1000': expected ID=USER[/GROUP,...]"},
    {"1000=alice 1000=bob", true, "entry '1000=bob': '1000' is listed twice"},
    {"=alice", true, "entry '=alice': bad id '' (a number, or a user or group name)"},
    {"-1=alice", true, "entry '-1=alice': bad id '-1' (a number, or a user or group name)"},
    {"1000=", true, "entry '1000=': bad user name (1 to 63 printable bytes without ',' '/' '=')"},
    {"1000=alice/dev,,ops", true, "entry '1000=alice/dev,,ops': bad group name ''"},
    {"1000=a,b", true,
     "entry '1000=a,b': bad user name (1 to 63 printable bytes without ',' "
     "'/' '=')"},
    {"27", false, "entry '27': expected ID=GROUP[,GROUP...]"},
    {"27=", false, "entry '27=': bad group name ''"},
    {"27=a/b", false, "entry '27=a/b': bad group name 'a/b'"},
};

START_TEST(idmap_rejects_malformed_entries)
{
    size_t i;

    for (i = 0; i < sizeof(bad_idmaps) / sizeof(bad_idmaps[0]); i++) {
        struct sk_config_idmap *v = NULL;
        size_t n = 0;
        struct sk_err err;

        sk_err_init(&err);
        ck_assert_int_eq(
            sk_config_idmap_parse(bad_idmaps[i].text, bad_idmaps[i].users, &v, &n, &err), -EINVAL);
        ck_assert_str_eq(err.msg, bad_idmaps[i].msg);
    }
}
END_TEST

START_TEST(config_checks_auth_keys_with_file_and_line)
{
    struct sk_config cfg;
    struct sk_conf_diag diag;
    const char *text = "[auth]\nlocal-users = 1000=alice/dev 1001=bob\n"
                       "local-groups = 1000=x 1000=y\n";

    sk_config_init(&cfg);
    sk_conf_diag_init(&diag);
    ck_assert_int_lt(sk_config_load_string(&cfg, "skiffd.conf", text, &diag), 0);
    ck_assert_uint_eq(sk_conf_diag_count(&diag), 1);
    ck_assert_str_eq(sk_conf_diag_get(&diag, 0)->text,
                     "skiffd.conf:3: auth.local-groups: entry '1000=y': '1000' is listed twice");
    ck_assert_str_eq(cfg.auth.local_users, "1000=alice/dev 1001=bob");
    ck_assert_uint_eq(cfg.server.max_requests_inflight, 400);
    ck_assert_uint_eq(cfg.server.max_client_requests, 64);
    ck_assert_uint_eq(cfg.server.auth_timeout_ms, 10000);
    sk_conf_diag_release(&diag);
    sk_config_release(&cfg);
}
END_TEST

/* ---- local peers ---- */

static struct api_peer
local_peer(struct api_authn *a, uid_t uid, gid_t gid)
{
    struct api_peer peer = {.local = true, .authenticated = true, .uid = uid, .gid = gid};

    api_authn_local(&peer, a);
    return peer;
}

START_TEST(local_peers_are_named_by_uid_then_gid_else_anonymous)
{
    struct api_authn *a = api_authn_new(4242);
    struct api_peer p;
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(api_authn_set_local(a, "1000=alice/dev,ops 1001=system:node:n1/system:nodes",
                                         "2000=viewers 1000=never-used", &err),
                     0);
    p = local_peer(a, 0, 0);
    ck_assert_str_eq(p.user, "system:admin");
    ck_assert_str_eq(p.groups, "system:masters,system:authenticated");
    p = local_peer(a, 4242, 100);
    ck_assert_str_eq(p.user, "system:admin");
    p = local_peer(a, 1000, 1000);
    ck_assert_str_eq(p.user, "alice");
    ck_assert_str_eq(p.groups, "dev,ops,system:authenticated");
    p = local_peer(a, 1001, 5);
    ck_assert_str_eq(p.user, "system:node:n1");
    ck_assert_str_eq(p.groups, "system:nodes,system:authenticated");
    p = local_peer(a, 3000, 2000);
    ck_assert_str_eq(p.user, "uid:3000");
    ck_assert_str_eq(p.groups, "viewers,system:authenticated");
    p = local_peer(a, 3000, 3000);
    ck_assert_str_eq(p.user, "system:anonymous");
    ck_assert_str_eq(p.groups, "system:unauthenticated");
    ck_assert(!api_peer_in_group(&p, "system:authenticated"));
    api_authn_free(a);
}
END_TEST

START_TEST(bad_local_mapping_keeps_the_old_one)
{
    struct api_authn *a = api_authn_new(4242);
    struct api_peer p;
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(api_authn_set_local(a, "1000=alice", "", &err), 0);
    ck_assert_int_eq(api_authn_set_local(a, "1000=bob 1000=carol", "", &err), -EINVAL);
    ck_assert_str_eq(err.msg, "auth.local-users: entry '1000=carol': '1000' is listed twice");
    p = local_peer(a, 1000, 1000);
    ck_assert_str_eq(p.user, "alice");
    /* root's name resolves through the user database */
    ck_assert_int_eq(api_authn_set_local(a, "root=not-admin", "", &err), 0);
    p = local_peer(a, 0, 0);
    ck_assert_str_eq(p.user, "system:admin");
    api_authn_free(a);
}
END_TEST

START_TEST(token_hook_uses_the_current_tokens)
{
    struct api_authn *a = api_authn_new(0);
    struct api_peer p = {0};

    ck_assert_int_lt(api_authn_token("abc", &p, a), 0);
    api_authn_set_tokens(a, parse_ok("abc,alice,1\n"));
    ck_assert_int_eq(api_authn_token("abc", &p, a), 0);
    ck_assert_str_eq(p.user, "alice");
    api_authn_set_tokens(a, parse_ok("def,bob,2\n"));
    ck_assert_int_lt(api_authn_token("abc", &p, a), 0);
    ck_assert_int_eq(api_authn_token("def", &p, a), 0);
    ck_assert_str_eq(p.user, "bob");
    api_authn_free(a);
}
END_TEST

START_TEST(peer_in_group_matches_whole_items_only)
{
    struct api_peer p = {0};

    sk_strlcpy(p.groups, "system:masters-not,dev,system:masters", sizeof(p.groups));
    ck_assert(api_peer_in_group(&p, "system:masters"));
    ck_assert(api_peer_in_group(&p, "dev"));
    ck_assert(!api_peer_in_group(&p, "de"));
    ck_assert(!api_peer_in_group(&p, "system"));
    ck_assert(!api_peer_in_group(&p, ""));
    sk_strlcpy(p.groups, "", sizeof(p.groups));
    ck_assert(!api_peer_in_group(&p, "dev"));
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("api_authn");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, token_file_records_quotes_comments_and_blank_lines);
    tcase_add_test(tc, empty_token_file_has_no_tokens);
    tcase_add_test(tc, malformed_token_files_name_file_and_line);
    tcase_add_test(tc, malformed_token_file_never_shows_the_token);
    tcase_add_test(tc, too_many_groups_is_an_error_and_nul_bytes_too);
    tcase_add_test(tc, token_file_load_reads_and_flags_exposed_files);
    tcase_add_test(tc, idmap_parses_users_with_groups_and_names);
    tcase_add_test(tc, idmap_rejects_malformed_entries);
    tcase_add_test(tc, config_checks_auth_keys_with_file_and_line);
    tcase_add_test(tc, local_peers_are_named_by_uid_then_gid_else_anonymous);
    tcase_add_test(tc, bad_local_mapping_keeps_the_old_one);
    tcase_add_test(tc, token_hook_uses_the_current_tokens);
    tcase_add_test(tc, peer_in_group_matches_whole_items_only);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
