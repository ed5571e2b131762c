/* kubelet/probe: state machines and the tcp/http/exec executors. The
 * servers run on 127.0.0.1 in this process's own threads. */
#include "kubelet/kubelet.h"
#include "lib/alloc.h"
#include "lib/clock.h"
#include "unit.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static json_t *
J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);

    if (!v)
        ck_abort_msg("bad test json: %s: %s", e.text, text);
    return v;
}

static json_t *
parse_ok(const char *ctr, enum kl_probe_kind kind, struct kl_probe *p)
{
    json_t *c = J(ctr);
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_msg(kl_probe_parse(c, "spec.containers[0]", kind, p, &err) == 0, "%s", err.msg);
    return c; /* the probe borrows from it */
}

START_TEST(parse_applies_defaults_and_resolves_named_ports)
{
    struct kl_probe p;
    json_t *c1, *c2;

    c1 = parse_ok("{\"ports\":[{\"name\":\"http\",\"containerPort\":8080}],"
                  "\"readinessProbe\":{\"httpGet\":{\"path\":\"/healthz\",\"port\":\"http\"}}}",
                  KL_PROBE_READINESS, &p);
    ck_assert_int_eq(p.handler, KL_PROBE_HTTP);
    ck_assert_int_eq(p.port, 8080);
    ck_assert_int_eq(p.initial_delay_s, 0);
    ck_assert_int_eq(p.period_s, 10);
    ck_assert_int_eq(p.timeout_s, 1);
    ck_assert_int_eq(p.success_threshold, 1);
    ck_assert_int_eq(p.failure_threshold, 3);
    ck_assert_str_eq(p.http_path, "/healthz");
    c2 = parse_ok("{\"name\":\"c\"}", KL_PROBE_LIVENESS, &p);
    ck_assert_int_eq(p.handler, KL_PROBE_NONE);
    json_decref(c1);
    json_decref(c2);
}
END_TEST

START_TEST(parse_errors_name_the_field)
{
    static const struct {
        const char *ctr, *want;
    } t[] = {
        {"{\"livenessProbe\":{\"tcpSocket\":{\"port\":80},\"successThreshold\":2}}",
         "spec.containers[0].livenessProbe.successThreshold: must be 1"},
        {"{\"livenessProbe\":{\"tcpSocket\":{\"port\":80},\"exec\":{\"command\":[\"x\"]}}}",
         "spec.containers[0].livenessProbe: must have exactly one"},
        {"{\"livenessProbe\":{\"tcpSocket\":{\"port\":\"web\"}}}",
         "spec.containers[0].livenessProbe.tcpSocket.port: no container port named 'web'"},
        {"{\"livenessProbe\":{\"tcpSocket\":{\"port\":70000}}}",
         "spec.containers[0].livenessProbe.tcpSocket.port: must be 1-65535"},
        {"{\"livenessProbe\":{\"exec\":{\"command\":[1]}}}",
         "spec.containers[0].livenessProbe.exec.command[0]: must be a string"},
        {"{\"livenessProbe\":{\"exec\":{\"command\":[]}}}",
         "spec.containers[0].livenessProbe.exec.command: required"},
        {"{\"livenessProbe\":{\"tcpSocket\":{\"port\":80},\"periodSeconds\":\"10\"}}",
         "spec.containers[0].livenessProbe.periodSeconds: must be an integer"},
        {"{\"livenessProbe\":{\"tcpSocket\":{\"port\":80},\"periodSeconds\":0}}",
         "spec.containers[0].livenessProbe.periodSeconds: must be at least 1"},
        {"{\"livenessProbe\":[]}", "spec.containers[0].livenessProbe: must be an object"},
        {"{\"livenessProbe\":{\"httpGet\":{\"port\":80,\"httpHeaders\":[{\"name\":1}]}}}",
         "spec.containers[0].livenessProbe.httpGet.httpHeaders[0]"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        json_t *c = J(t[i].ctr);
        struct kl_probe p;
        struct sk_err err;

        sk_err_init(&err);
        ck_assert_int_lt(kl_probe_parse(c, "spec.containers[0]", KL_PROBE_LIVENESS, &p, &err), 0);
        ck_assert_msg(strncmp(err.msg, t[i].want, strlen(t[i].want)) == 0, "case %zu: %s", i,
                      err.msg);
        json_decref(c);
    }
}
END_TEST

static void
probe_set(struct kl_probe *p, int64_t delay, int64_t period, int64_t succ, int64_t fail)
{
    memset(p, 0, sizeof(*p));
    p->handler = KL_PROBE_TCP;
    p->initial_delay_s = delay;
    p->period_s = period;
    p->timeout_s = 1;
    p->success_threshold = succ;
    p->failure_threshold = fail;
}

START_TEST(readiness_needs_success_threshold_and_failure_threshold)
{
    static const struct {
        int64_t at_ms;
        enum kl_probe_result r;
        enum kl_probe_action act;
        bool ready;
    } steps[] = {
        {5000, KL_PROBE_SUCCESS, KL_PROBE_ACT_NONE, false},
        {15000, KL_PROBE_SUCCESS, KL_PROBE_ACT_READY_CHANGED, true},
        {25000, KL_PROBE_FAILURE, KL_PROBE_ACT_NONE, true},
        {35000, KL_PROBE_FAILURE, KL_PROBE_ACT_NONE, true},
        {45000, KL_PROBE_FAILURE, KL_PROBE_ACT_READY_CHANGED, false},
        {55000, KL_PROBE_SUCCESS, KL_PROBE_ACT_NONE, false},
        {65000, KL_PROBE_SUCCESS, KL_PROBE_ACT_READY_CHANGED, true},
    };
    struct kl_probes p;
    int64_t wake;

    memset(&p, 0, sizeof(p));
    probe_set(&p.spec[KL_PROBE_READINESS], 5, 10, 2, 3);
    kl_probes_start(&p, 0);
    ck_assert(!kl_probes_ready(&p));
    ck_assert_int_eq(kl_probes_due(&p, 4999, &wake), -1);
    ck_assert_int_eq(wake, 5000);
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        ck_assert_int_eq(kl_probes_due(&p, steps[i].at_ms, &wake), KL_PROBE_READINESS);
        ck_assert_int_eq(
            kl_probes_record(&p, KL_PROBE_READINESS, steps[i].r, "x", steps[i].at_ms, NULL, 0),
            steps[i].act);
        ck_assert_msg(kl_probes_ready(&p) == steps[i].ready, "step %zu", i);
        ck_assert_int_eq(kl_probes_due(&p, steps[i].at_ms + 9999, &wake), -1);
    }
}
END_TEST

START_TEST(liveness_failure_threshold_restarts_with_message)
{
    struct kl_probes p;
    char msg[256];

    memset(&p, 0, sizeof(p));
    probe_set(&p.spec[KL_PROBE_LIVENESS], 0, 1, 1, 3);
    kl_probes_start(&p, 0);
    ck_assert(kl_probes_ready(&p)); /* no readiness probe: ready */
    ck_assert_int_eq(
        kl_probes_record(&p, KL_PROBE_LIVENESS, KL_PROBE_FAILURE, "boom", 0, msg, sizeof(msg)),
        KL_PROBE_ACT_NONE);
    ck_assert_int_eq(
        kl_probes_record(&p, KL_PROBE_LIVENESS, KL_PROBE_SUCCESS, "", 1000, msg, sizeof(msg)),
        KL_PROBE_ACT_NONE);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(kl_probes_record(&p, KL_PROBE_LIVENESS, KL_PROBE_FAILURE, "boom",
                                          2000 + i * 1000, msg, sizeof(msg)),
                         KL_PROBE_ACT_NONE);
    ck_assert_int_eq(kl_probes_record(&p, KL_PROBE_LIVENESS, KL_PROBE_FAILURE,
                                      "dial tcp 10.0.0.5:80: connect: connection refused", 4000,
                                      msg, sizeof(msg)),
                     KL_PROBE_ACT_RESTART);
    ck_assert_str_eq(msg, "Liveness probe failed: dial tcp 10.0.0.5:80: connect: connection "
                          "refused");
}
END_TEST

START_TEST(startup_probe_gates_liveness_and_readiness)
{
    struct kl_probes p;
    int64_t wake;
    char msg[128];

    memset(&p, 0, sizeof(p));
    probe_set(&p.spec[KL_PROBE_LIVENESS], 0, 10, 1, 1);
    probe_set(&p.spec[KL_PROBE_READINESS], 0, 10, 1, 1);
    probe_set(&p.spec[KL_PROBE_STARTUP], 0, 2, 1, 5);
    kl_probes_start(&p, 0);
    ck_assert(!kl_probes_started(&p));
    ck_assert_int_eq(kl_probes_due(&p, 0, &wake), KL_PROBE_STARTUP);
    kl_probes_record(&p, KL_PROBE_STARTUP, KL_PROBE_FAILURE, "no", 0, msg, sizeof(msg));
    ck_assert_int_eq(kl_probes_due(&p, 1000, &wake), -1);
    ck_assert_int_eq(wake, 2000);
    ck_assert(!kl_probes_ready(&p));
    kl_probes_record(&p, KL_PROBE_STARTUP, KL_PROBE_SUCCESS, "", 2000, msg, sizeof(msg));
    ck_assert(kl_probes_started(&p));
    ck_assert_int_eq(kl_probes_due(&p, 2000, &wake), KL_PROBE_LIVENESS);
    kl_probes_record(&p, KL_PROBE_LIVENESS, KL_PROBE_SUCCESS, "", 2000, msg, sizeof(msg));
    ck_assert_int_eq(kl_probes_due(&p, 2000, &wake), KL_PROBE_READINESS);
    ck_assert_int_eq(
        kl_probes_record(&p, KL_PROBE_READINESS, KL_PROBE_SUCCESS, "", 2000, msg, sizeof(msg)),
        KL_PROBE_ACT_READY_CHANGED);
    /* the startup probe never runs again */
    ck_assert_int_eq(kl_probes_due(&p, 100000, &wake), KL_PROBE_LIVENESS);
}
END_TEST

START_TEST(startup_failure_threshold_restarts)
{
    struct kl_probes p;
    char msg[128];

    memset(&p, 0, sizeof(p));
    probe_set(&p.spec[KL_PROBE_STARTUP], 0, 1, 1, 2);
    kl_probes_start(&p, 0);
    ck_assert_int_eq(
        kl_probes_record(&p, KL_PROBE_STARTUP, KL_PROBE_FAILURE, "a", 0, msg, sizeof(msg)),
        KL_PROBE_ACT_NONE);
    ck_assert_int_eq(
        kl_probes_record(&p, KL_PROBE_STARTUP, KL_PROBE_FAILURE, "b", 1000, msg, sizeof(msg)),
        KL_PROBE_ACT_RESTART);
    ck_assert_str_eq(msg, "Startup probe failed: b");
}
END_TEST

/* ---- executors ---- */

struct server {
    int fd, port;
    const char *response; /* NULL: accept and stay silent */
    char request[2048];
    pthread_t th;
};

static int
listen_any(int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(fd, 4), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void *
serve_one(void *arg)
{
    struct server *s = arg;
    int c = accept(s->fd, NULL, NULL);
    size_t len = 0;
    ssize_t n;

    if (c < 0)
        return NULL;
    while (len < sizeof(s->request) - 1 &&
           (n = read(c, s->request + len, sizeof(s->request) - 1 - len)) > 0) {
        len += (size_t)n;
        s->request[len] = '\0';
        if (strstr(s->request, "\r\n\r\n"))
            break;
    }
    if (s->response) {
        (void)!write(c, s->response, strlen(s->response));
    } else {
        char b[64];
        while (read(c, b, sizeof(b)) > 0) /* until the prober gives up and closes */
            ;
    }
    close(c);
    return NULL;
}

static void
server_start(struct server *s, const char *response)
{
    memset(s, 0, sizeof(*s));
    s->response = response;
    s->fd = listen_any(&s->port);
    ck_assert_int_eq(pthread_create(&s->th, NULL, serve_one, s), 0);
}

static void
server_stop(struct server *s)
{
    pthread_join(s->th, NULL);
    close(s->fd);
}

START_TEST(tcp_probe_succeeds_on_listener_and_fails_when_closed)
{
    struct sk_buf msg = SK_BUF_INIT;
    int port, fd = listen_any(&port);

    ck_assert_int_eq(kl_probe_tcp(-1, "127.0.0.1", port, 1000, &msg), KL_PROBE_SUCCESS);
    close(fd);
    ck_assert_int_eq(kl_probe_tcp(-1, "127.0.0.1", port, 1000, &msg), KL_PROBE_FAILURE);
    ck_assert_ptr_nonnull(strstr(msg.data, "connection refused"));
    sk_buf_reset(&msg);
    ck_assert_int_eq(kl_probe_tcp(-1, "example.com", 80, 1000, &msg), KL_PROBE_FAILURE);
    ck_assert_ptr_nonnull(strstr(msg.data, "not an IP address"));
    sk_buf_release(&msg);
}
END_TEST

START_TEST(http_probe_status_codes)
{
    static const struct {
        const char *resp;
        enum kl_probe_result want;
    } t[] = {
        {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", KL_PROBE_SUCCESS},
        {"HTTP/1.0 302 Found\r\nLocation: /x\r\n\r\n", KL_PROBE_SUCCESS},
        {"HTTP/1.1 399 Odd\r\n\r\n", KL_PROBE_SUCCESS},
        {"HTTP/1.1 404 Not Found\r\n\r\n", KL_PROBE_FAILURE},
        {"HTTP/1.1 500 Internal Server Error\r\n\r\n", KL_PROBE_FAILURE},
        {"garbage\r\n\r\n", KL_PROBE_FAILURE},
        {"", KL_PROBE_FAILURE},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct sk_buf msg = SK_BUF_INIT;
        struct server s;

        server_start(&s, t[i].resp);
        ck_assert_msg(kl_probe_http(-1, "127.0.0.1", s.port, "/healthz", NULL, 2000, &msg) ==
                          t[i].want,
                      "case %zu: %s", i, msg.data ? msg.data : "");
        server_stop(&s);
        ck_assert(strncmp(s.request, "GET /healthz HTTP/1.1\r\n", 23) == 0);
        if (i == 3)
            ck_assert_str_eq(msg.data, "HTTP probe failed with statuscode: 404");
        sk_buf_release(&msg);
    }
}
END_TEST

START_TEST(http_probe_sends_host_and_custom_headers)
{
    json_t *h = J("[{\"name\":\"X-Check\",\"value\":\"yes\"},{\"name\":\"Host\",\"value\":"
                  "\"web.local\"}]");
    struct sk_buf msg = SK_BUF_INIT;
    struct server s;
    char want[64];

    server_start(&s, "HTTP/1.1 204 No Content\r\n\r\n");
    ck_assert_int_eq(kl_probe_http(-1, "127.0.0.1", s.port, "ready", NULL, 2000, &msg),
                     KL_PROBE_SUCCESS);
    server_stop(&s);
    snprintf(want, sizeof(want), "Host: 127.0.0.1:%d\r\n", s.port);
    ck_assert_ptr_nonnull(strstr(s.request, "GET /ready HTTP/1.1\r\n"));
    ck_assert_ptr_nonnull(strstr(s.request, want));
    server_start(&s, "HTTP/1.1 200 OK\r\n\r\n");
    ck_assert_int_eq(kl_probe_http(-1, "127.0.0.1", s.port, "/", h, 2000, &msg), KL_PROBE_SUCCESS);
    server_stop(&s);
    ck_assert_ptr_nonnull(strstr(s.request, "X-Check: yes\r\n"));
    ck_assert_ptr_nonnull(strstr(s.request, "Host: web.local\r\n"));
    ck_assert_ptr_null(strstr(s.request, "Host: 127.0.0.1"));
    sk_buf_release(&msg);
    json_decref(h);
}
END_TEST

START_TEST(http_probe_times_out_on_a_silent_server)
{
    struct sk_buf msg = SK_BUF_INIT;
    struct server s;
    int64_t t0 = sk_clock_mono_ms(), took;

    server_start(&s, NULL);
    ck_assert_int_eq(kl_probe_http(-1, "127.0.0.1", s.port, "/", NULL, 200, &msg),
                     KL_PROBE_FAILURE);
    took = sk_clock_mono_ms() - t0;
    server_stop(&s);
    ck_assert_int_ge(took, 150);
    ck_assert_int_lt(took, 2000);
    ck_assert_ptr_nonnull(strstr(msg.data, "deadline exceeded"));
    sk_buf_release(&msg);
}
END_TEST

START_TEST(http_probe_refuses_header_injection)
{
    json_t *h = J("[{\"name\":\"X\",\"value\":\"a\\r\\nEvil: 1\"}]");
    struct sk_buf msg = SK_BUF_INIT;

    ck_assert_int_eq(kl_probe_http(-1, "127.0.0.1", 1, "/", h, 500, &msg), KL_PROBE_FAILURE);
    ck_assert_ptr_nonnull(strstr(msg.data, "invalid header"));
    sk_buf_reset(&msg);
    ck_assert_int_eq(kl_probe_http(-1, "127.0.0.1", 1, "/a b", NULL, 500, &msg), KL_PROBE_FAILURE);
    sk_buf_release(&msg);
    json_decref(h);
}
END_TEST

START_TEST(exec_probe_on_missing_container_fails_with_reason)
{
    char *root = sk_asprintf("%s/rt", unit_tmpdir());
    struct rt_ctx ctx = {.root = root, .cgroup_root = "skiff-test"};
    struct rt_process base;
    json_t *cmd = J("[\"true\"]");
    struct sk_buf msg = SK_BUF_INIT;
    int64_t t0 = sk_clock_mono_ms();

    memset(&base, 0, sizeof(base));
    ck_assert_int_eq(kl_probe_exec(&ctx, "nope", &base, cmd, 2000, &msg), KL_PROBE_FAILURE);
    ck_assert_int_lt(sk_clock_mono_ms() - t0, 2000);
    ck_assert_uint_gt(msg.len, 0);
    sk_buf_release(&msg);
    json_decref(cmd);
    free(root);
}
END_TEST

struct netns_listener {
    int netns_fd, listen_fd, port, skip;
};

/* On its own thread (setns/unshare change only the calling thread):
 * a new netns with lo up and a listener on 127.0.0.1 inside it. */
static void *
netns_listener_thread(void *arg)
{
    struct netns_listener *l = arg;
    struct ifreq ifr;
    int s;

    if (unshare(CLONE_NEWNET) < 0) {
        l->skip = 1;
        return NULL;
    }
    s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    memset(&ifr, 0, sizeof(ifr));
    strcpy(ifr.ifr_name, "lo");
    if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
        l->skip = 1;
        return NULL;
    }
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
        l->skip = 1;
    close(s);
    l->netns_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    l->listen_fd = listen_any(&l->port);
    return NULL;
}

START_TEST(tcp_probe_connects_inside_the_pod_netns)
{
    struct netns_listener l = {-1, -1, 0, 0};
    struct sk_buf msg = SK_BUF_INIT;
    pthread_t th;

    ck_assert_int_eq(pthread_create(&th, NULL, netns_listener_thread, &l), 0);
    pthread_join(th, NULL);
    if (l.skip)
        return; /* no privilege to create a network namespace here */
    ck_assert_int_ge(l.netns_fd, 0);
    ck_assert_int_eq(kl_probe_tcp(l.netns_fd, "127.0.0.1", l.port, 1000, &msg), KL_PROBE_SUCCESS);
    /* the caller's thread never changed namespace */
    {
        char a[64] = "", b[64] = "";
        ck_assert_int_gt(readlink("/proc/thread-self/ns/net", a, sizeof(a) - 1), 0);
        ck_assert_int_gt(readlink("/proc/self/ns/net", b, sizeof(b) - 1), 0);
        ck_assert_str_eq(a, b);
    }
    close(l.listen_fd);
    ck_assert_int_eq(kl_probe_tcp(l.netns_fd, "127.0.0.1", l.port, 1000, &msg), KL_PROBE_FAILURE);
    close(l.netns_fd);
    sk_buf_release(&msg);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("kubelet_probe");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, parse_applies_defaults_and_resolves_named_ports);
    tcase_add_test(tc, parse_errors_name_the_field);
    tcase_add_test(tc, readiness_needs_success_threshold_and_failure_threshold);
    tcase_add_test(tc, liveness_failure_threshold_restarts_with_message);
    tcase_add_test(tc, startup_probe_gates_liveness_and_readiness);
    tcase_add_test(tc, startup_failure_threshold_restarts);
    tcase_add_test(tc, tcp_probe_succeeds_on_listener_and_fails_when_closed);
    tcase_add_test(tc, http_probe_status_codes);
    tcase_add_test(tc, http_probe_sends_host_and_custom_headers);
    tcase_add_test(tc, http_probe_times_out_on_a_silent_server);
    tcase_add_test(tc, http_probe_refuses_header_injection);
    tcase_add_test(tc, exec_probe_on_missing_container_fails_with_reason);
    tcase_add_test(tc, tcp_probe_connects_inside_the_pod_netns);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
