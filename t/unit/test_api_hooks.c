/* api/objects.c: the authorization and admission hooks, in process: a
 * loop, a single-member store, the API server and the object verbs,
 * driven through the UNIX socket by a non-blocking client that turns
 * the loop until its answer is complete. Checks which (verb, resource,
 * subresource, namespace, name) each request is authorized as, that a
 * refusal answers 403 before the store is touched, and what admission
 * sees of old and new objects. */
#include "api/objects.h"
#include "api/server.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "store/store.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct hooks {
    char authz[64][160]; /* "verb resource sub ns name" */
    size_t nauthz;
    char admit[64][160]; /* "verb Kind old|- new|-" */
    size_t nadmit;
    const char *refuse_verb; /* authorize refuses this verb */
    bool refuse_admit;
};

static struct sk_loop *loop;
static struct store *st;
static struct api_server *srv;
static struct api_objects *objs;
static struct hooks hk;
static char sock_path[256];

static int
authorize(void *arg, const struct api_peer *peer, const char *verb, const char *resource,
          const char *sub, const char *ns, const char *name, struct sk_err *err)
{
    struct hooks *h = arg;

    if (h->nauthz < N(h->authz))
        snprintf(h->authz[h->nauthz++], sizeof(h->authz[0]), "%s %s %s %s %s", verb, resource,
                 *sub ? sub : "-", *ns ? ns : "-", *name ? name : "-");
    if (h->refuse_verb && !strcmp(verb, h->refuse_verb))
        return sk_err_set(err, EPERM,
                          "%s \"%s\" is forbidden: User \"%s\" cannot %s resource \"%s\" in API "
                          "group \"\" in the namespace \"%s\"",
                          resource, name, peer->user, verb, resource, ns);
    return 0;
}

static int
admit(void *arg, const struct api_peer *peer, const char *verb, const struct api_kind *k,
      const json_t *old, const json_t *new_obj, struct sk_err *err)
{
    struct hooks *h = arg;

    if (h->nadmit < N(h->admit))
        snprintf(h->admit[h->nadmit++], sizeof(h->admit[0]), "%s %s %s %s", verb, k->kind,
                 old ? "old" : "-", new_obj ? "new" : "-");
    if (h->refuse_admit)
        return sk_err_set(err, EPERM, "admission says no");
    return 0;
}

/* Send one request line and turn the loop until its whole answer is
 * in: the status line and, for "ok N", N more lines. */
static char *
roundtrip(const char *line)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    struct sk_buf in = SK_BUF_INIT;
    char buf[65536];
    long want = -1;
    int fd;

    strcpy(a.sun_path, sock_path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(write(fd, line, strlen(line)), (ssize_t)strlen(line));
    ck_assert_int_eq(write(fd, "\n", 1), 1);
    for (int i = 0; i < 2000; i++) {
        ssize_t n;
        char *nl;

        sk_loop_run_once(loop, 5, NULL);
        while ((n = read(fd, buf, sizeof(buf))) > 0)
            sk_buf_append(&in, buf, (size_t)n);
        if (!in.len || !(nl = memchr(in.data, '\n', in.len)))
            continue;
        if (want < 0)
            want = strncmp(in.data, "ok ", 3) ? 0 : strtol(in.data + 3, NULL, 10);
        long lines = 0;
        for (size_t j = 0; j < in.len; j++)
            lines += in.data[j] == '\n';
        if (lines >= want + 1)
            break;
    }
    close(fd);
    ck_assert_msg(in.len > 0, "no answer to '%s'", line);
    return sk_buf_detach(&in, NULL);
}

static void
expect_status(const char *line, const char *prefix)
{
    char *out = roundtrip(line);

    ck_assert_msg(!strncmp(out, prefix, strlen(prefix)), "'%s': got '%.200s'", line, out);
    free(out);
}

static void
setup(void)
{
    struct api_server_config acfg = {0};
    struct store_config scfg = {0};
    struct api_objects_config ocfg = {
        .authorize = authorize, .authorize_arg = &hk, .admit = admit, .admit_arg = &hk};
    char dir[256];
    struct sk_err err;

    memset(&hk, 0, sizeof(hk));
    sk_log_set_level(SK_LOG_WARN);
    sk_err_init(&err);
    snprintf(sock_path, sizeof(sock_path), "%s/api.%d.sock", unit_tmpdir(), (int)getpid());
    snprintf(dir, sizeof(dir), "%s/data.%d", unit_tmpdir(), (int)getpid());
    ck_assert_int_eq(sk_loop_new(&loop, &err), 0);
    acfg.socket_path = sock_path;
    acfg.socket_mode = 0600;
    ck_assert_msg(api_server_start(loop, &acfg, &srv, &err) == 0, "%s", err.msg);
    scfg.name = "m1";
    scfg.data_dir = dir;
    scfg.peers = "";
    scfg.election_timeout_ms = 100;
    scfg.heartbeat_interval_ms = 20;
    scfg.snapshot_every = 10000;
    ck_assert_msg(store_open(loop, &scfg, &st, &err) == 0, "%s", err.msg);
    objs = api_objects_register(srv, loop, st, &ocfg);
    for (int i = 0; i < 400; i++) {
        char *out = roundtrip("get namespaces kube-node-lease");
        bool ok = !strncmp(out, "ok 1", 4);

        free(out);
        if (ok)
            break;
    }
    hk.nauthz = hk.nadmit = 0;
}

static void
teardown(void)
{
    api_server_stop(srv);
    sk_loop_run_once(loop, 0, NULL);
    api_objects_free(objs);
    store_close(st);
    sk_loop_free(loop);
}

static const char pod[] = "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\"},"
                          "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}";

START_TEST(every_verb_is_authorized_with_its_attributes)
{
    static const struct {
        const char *req;
        const char *authz;
    } cases[] = {
        {"get pods default web", "get pods - default web"},
        {"list pods", "list pods - - -"},
        {"list pods kube-system", "list pods - kube-system -"},
        {"list nodes", "list nodes - - -"},
        {"update {\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\"},"
         "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx:latest\"}]}}",
         "update pods - default web"},
        {"status {\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\"},"
         "\"status\":{\"phase\":\"Running\"}}",
         "update pods status default web"},
        {"patch pods default web {\"metadata\":{\"labels\":{\"a\":\"b\"}}}",
         "patch pods - default web"},
        {"patch pods default web subresource=status {\"status\":{\"podIP\":\"10.1.1.1\"}}",
         "patch pods status default web"},
        {"bind default web n1", "bind pods binding default web"},
        {"create {\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"generateName\":"
         "\"g-\",\"namespace\":\"kube-system\"}}",
         "create configmaps - kube-system -"},
        {"delete pods default web grace=0", "delete pods - default web"},
        {"create {\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"n1\"}}",
         "create nodes - - n1"},
    };

    {
        char line[1024];

        snprintf(line, sizeof(line), "create %s", pod);
        expect_status(line, "ok 1 rev=");
        ck_assert_uint_eq(hk.nauthz, 1);
        ck_assert_str_eq(hk.authz[0], "create pods - default web");
    }
    for (size_t i = 0; i < N(cases); i++) {
        char *out;

        hk.nauthz = 0;
        out = roundtrip(cases[i].req);
        ck_assert_msg(!strncmp(out, "ok ", 3), "'%s': %.200s", cases[i].req, out);
        free(out);
        ck_assert_uint_ge(hk.nauthz, 1);
        ck_assert_str_eq(hk.authz[0], cases[i].authz);
    }
}
END_TEST

START_TEST(refusals_answer_403_before_the_store_is_touched)
{
    int64_t rev;
    char line[1024];
    char *out;

    hk.refuse_verb = "create";
    snprintf(line, sizeof(line), "create %s", pod);
    rev = store_rev(st);
    out = roundtrip(line);
    ck_assert_str_eq(out, "error 403 Forbidden pods \"web\" is forbidden: User \"uid:0\" cannot "
                          "create resource \"pods\" in API group \"\" in the namespace "
                          "\"default\"\n");
    free(out);
    ck_assert_int_eq(store_rev(st), rev);
    ck_assert_uint_eq(hk.nadmit, 0);
    hk.refuse_verb = "watch";
    expect_status("watch pods", "error 403 Forbidden");
    hk.refuse_verb = "get";
    expect_status("get pods default web", "error 403 Forbidden");
    hk.refuse_verb = NULL;
    hk.refuse_admit = true;
    out = roundtrip(line);
    ck_assert_str_eq(out, "error 403 Forbidden admission says no\n");
    free(out);
    ck_assert_int_eq(store_rev(st), rev);
}
END_TEST

START_TEST(admission_sees_old_and_new)
{
    char line[1024];

    snprintf(line, sizeof(line), "create %s", pod);
    expect_status(line, "ok 1");
    expect_status("patch pods default web {\"metadata\":{\"labels\":{\"a\":\"b\"}}}", "ok 1");
    expect_status("patch pods default web {\"metadata\":{\"labels\":{\"a\":\"b\"}}}", "ok 1");
    expect_status("bind default web n1", "ok 1");
    expect_status("delete pods default web", "ok 1");
    expect_status("delete pods default web grace=0", "ok 1");
    ck_assert_uint_eq(hk.nadmit, 5); /* the no-op patch changes nothing: not admitted */
    ck_assert_str_eq(hk.admit[0], "create Pod - new");
    ck_assert_str_eq(hk.admit[1], "patch Pod old new");
    ck_assert_str_eq(hk.admit[2], "bind Pod old new");
    ck_assert_str_eq(hk.admit[3], "delete Pod old -");
    ck_assert_str_eq(hk.admit[4], "delete Pod old -");
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("api_hooks");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, every_verb_is_authorized_with_its_attributes);
    tcase_add_test(tc, refusals_answer_403_before_the_store_is_touched);
    tcase_add_test(tc, admission_sees_old_and_new);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
