/* kvhist: record a key-value history against live skiff members, for
 * the linearizability checker (lincheck, store/lincheck.h).
 *
 *     kvhist --server SOCK[,SOCK...] --out FILE [--clients N] [--keys K]
 *            [--seconds S] [--seed X] [--timeout MS] [--prefix P] [--final-reads]
 *
 * N threads, each with its own connection, do random `kv put` (values
 * unique in the run: "c3-17" is client 3's 17th put) and `kv get` on keys
 * k0..k(K-1) for S seconds (with --prefix, Pk0..: several histories
 * recorded one after the other on one store then share no key, so each
 * can be checked on its own). Each op is timed with CLOCK_MONOTONIC around
 * its request (shared by every process on the host, so histories of
 * several runs can be concatenated) and written as one lincheck line:
 *
 *     put -> ok      the server answered ok
 *     put -> fail    400, 401, 403: refused before anything was applied
 *     put -> ?       timeout, connection lost, 503, 504, anything else
 *     get -> VALUE   ok (or <nil> on 404); a get that failed is left out
 *
 * After a failure the connection is dropped (a late answer must never be
 * taken for the next request's) and the client reconnects to the next
 * server in the list, trying each for a bounded time.
 *
 * --final-reads instead gets every key once (client "final"), retrying
 * over the servers for up to 10 s per key: run after recovery, appended
 * to the history, it checks that every acknowledged write survived.
 *
 * Exit status 0 when it ran (summary "kvhist: N ops, N ok, N unknown,
 * N failed" on stderr), 1 when a final read never succeeded or the
 * output cannot be written, 2 on usage errors. */
#include "api/client.h"
#include "lib/buf.h"
#include "store/lincheck.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_SERVERS 8
#define MAX_CLIENTS 64

struct config {
    char *servers[MAX_SERVERS];
    int nservers;
    int clients, keys, timeout_ms;
    double seconds;
    unsigned seed;
    int final_reads;
    const char *prefix; /* of every key */
};

struct worker {
    const struct config *cfg;
    int id;
    char name[16];
    int server; /* index of the server to use next */
    struct api_client cl;
    int connected;
    unsigned rnd;
    struct sk_buf out; /* history lines */
    unsigned long ops, ok, unknown, failed;
    int final_missing;
};

static int64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
pause_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

    nanosleep(&ts, NULL);
}

static void
drop_conn(struct worker *w)
{
    if (w->connected)
        api_client_close(&w->cl);
    w->connected = 0;
    w->server = (w->server + 1) % w->cfg->nservers;
}

/* Connect to some server, trying them in turn until deadline (ns). */
static int
ensure_conn(struct worker *w, int64_t deadline)
{
    struct sk_err err;

    while (!w->connected) {
        sk_err_init(&err);
        if (api_client_connect(&w->cl, w->cfg->servers[w->server], NULL, w->cfg->timeout_ms,
                               &err) == 0) {
            w->connected = 1;
            return 0;
        }
        w->server = (w->server + 1) % w->cfg->nservers;
        if (now_ns() >= deadline)
            return -1;
        /* A dead member refuses at once; don't spin on the list. */
        pause_ms(20);
    }
    return 0;
}

static void
record(struct worker *w, struct lincheck_op *op)
{
    op->client = w->name;
    lincheck_op_format(op, &w->out);
    sk_buf_putc(&w->out, '\n');
    w->ops++;
    if (op->outcome == LINCHECK_OK)
        w->ok++;
    else if (op->outcome == LINCHECK_UNKNOWN)
        w->unknown++;
    else
        w->failed++;
}

/* The value in a get's KV object; NULL (absent) on a bad body. */
static char *
body_value(const struct api_resp *resp, int *bad)
{
    json_t *obj, *v;
    char *s = NULL;

    *bad = 1;
    if (resp->nlines != 1)
        return NULL;
    obj = json_loads(resp->lines[0], 0, NULL);
    v = obj ? json_object_get(obj, "value") : NULL;
    if (v && json_is_string(v)) {
        s = strdup(json_string_value(v));
        *bad = s == NULL;
    }
    json_decref(obj);
    return s;
}

static void
do_put(struct worker *w, const char *key, unsigned seq)
{
    struct lincheck_op op = {0};
    struct api_resp resp;
    struct sk_err err;
    char value[32], line[128];
    int rc;

    snprintf(value, sizeof(value), "c%d-%u", w->id, seq);
    snprintf(line, sizeof(line), "kv put %s %s", key, value);
    op.kind = LINCHECK_PUT;
    op.key = key;
    op.value = value;
    op.outcome = LINCHECK_UNKNOWN;
    sk_err_init(&err);
    memset(&resp, 0, sizeof(resp));
    op.invoke = now_ns();
    rc = api_client_call(&w->cl, line, &resp, &err);
    op.ret = now_ns();
    if (rc < 0) {
        drop_conn(w);
    } else {
        if (resp.ok)
            op.outcome = LINCHECK_OK;
        else if (resp.code == 400 || resp.code == 401 || resp.code == 403)
            op.outcome = LINCHECK_FAIL;
        else
            drop_conn(w); /* 503/504: try another member */
        api_resp_release(&resp);
    }
    record(w, &op);
}

/* Returns 1 when the get was answered (and recorded), 0 otherwise. */
static int
do_get(struct worker *w, const char *key)
{
    struct lincheck_op op = {0};
    struct api_resp resp;
    struct sk_err err;
    char line[128], *value = NULL;
    int rc, bad = 0, answered = 0;

    snprintf(line, sizeof(line), "kv get %s", key);
    op.kind = LINCHECK_GET;
    op.key = key;
    op.outcome = LINCHECK_OK;
    sk_err_init(&err);
    memset(&resp, 0, sizeof(resp));
    op.invoke = now_ns();
    rc = api_client_call(&w->cl, line, &resp, &err);
    op.ret = now_ns();
    if (rc < 0) {
        drop_conn(w);
        return 0;
    }
    if (resp.ok)
        value = body_value(&resp, &bad);
    else if (resp.code != 404)
        bad = 1;
    if (!bad) {
        op.value = value;
        record(w, &op);
        answered = 1;
    } else {
        drop_conn(w);
    }
    free(value);
    api_resp_release(&resp);
    return answered;
}

static void *
run_worker(void *arg)
{
    struct worker *w = arg;
    int64_t end = now_ns() + (int64_t)(w->cfg->seconds * 1e9);
    unsigned seq = 0;
    char key[32];

    while (now_ns() < end) {
        if (ensure_conn(w, end) < 0)
            break;
        snprintf(key, sizeof(key), "%sk%d", w->cfg->prefix,
                 (int)(rand_r(&w->rnd) % (unsigned)w->cfg->keys));
        if (rand_r(&w->rnd) % 2)
            do_put(w, key, ++seq);
        else
            do_get(w, key);
    }
    if (w->connected)
        api_client_close(&w->cl);
    w->connected = 0;
    return NULL;
}

static void
run_final(struct worker *w)
{
    char key[32];
    int k;

    for (k = 0; k < w->cfg->keys; k++) {
        int64_t deadline = now_ns() + (int64_t)10 * 1000000000;
        int done = 0;

        snprintf(key, sizeof(key), "%sk%d", w->cfg->prefix, k);
        while (!done && now_ns() < deadline) {
            if (ensure_conn(w, deadline) < 0)
                break;
            done = do_get(w, key);
            if (!done)
                pause_ms(50);
        }
        if (!done) {
            fprintf(stderr, "kvhist: no final read of key '%s' within 10 s\n", key);
            w->final_missing++;
        }
    }
    if (w->connected)
        api_client_close(&w->cl);
    w->connected = 0;
}

static void
usage(void)
{
    fprintf(stderr, "usage: kvhist --server SOCK[,SOCK...] --out FILE [--clients N] [--keys K]\n"
                    "              [--seconds S] [--seed X] [--timeout MS] [--prefix P]\n"
                    "              [--final-reads]\n");
}

static int
parse_int(const char *s, int min, int max, int *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -1;
    *out = (int)v;
    return 0;
}

static int
parse_servers(char *list, struct config *cfg)
{
    char *save = NULL, *tok;

    for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (cfg->nservers == MAX_SERVERS)
            return -1;
        cfg->servers[cfg->nservers++] = tok;
    }
    return cfg->nservers ? 0 : -1;
}

/* 0 ok, -1 usage error (reported). */
static int
parse_args(int argc, char **argv, struct config *cfg, const char **out)
{
    int i, v;

    for (i = 1; i < argc; i++) {
        const char *opt = argv[i];
        char *val = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;

        if (!strcmp(opt, "--final-reads")) {
            cfg->final_reads = 1;
            continue;
        }
        if (!val) {
            fprintf(stderr, "kvhist: '%s' needs a value\n", opt);
            return -1;
        }
        i++;
        if (!strcmp(opt, "--server"))
            bad = parse_servers(val, cfg);
        else if (!strcmp(opt, "--out"))
            *out = val;
        else if (!strcmp(opt, "--prefix"))
            bad = strlen(cfg->prefix = val) > 16 || strpbrk(val, " %\n") != NULL;
        else if (!strcmp(opt, "--clients"))
            bad = parse_int(val, 1, MAX_CLIENTS, &cfg->clients);
        else if (!strcmp(opt, "--keys"))
            bad = parse_int(val, 1, 100000, &cfg->keys);
        else if (!strcmp(opt, "--timeout"))
            bad = parse_int(val, 1, 600000, &cfg->timeout_ms);
        else if (!strcmp(opt, "--seed")) {
            bad = parse_int(val, 0, 0x7fffffff, &v);
            cfg->seed = (unsigned)v;
        } else if (!strcmp(opt, "--seconds")) {
            char *end;

            cfg->seconds = strtod(val, &end);
            bad = end == val || *end || !(cfg->seconds >= 0 && cfg->seconds <= 3600);
        } else {
            usage();
            return -1;
        }
        if (bad) {
            fprintf(stderr, "kvhist: %s '%s': not valid\n", opt, val);
            return -1;
        }
    }
    if (!cfg->nservers || !*out) {
        usage();
        return -1;
    }
    return 0;
}

static int
write_history(const char *path, struct worker *ws, int n)
{
    FILE *f = fopen(path, "we");
    int i, rc = 0;

    if (!f) {
        fprintf(stderr, "kvhist: cannot open '%s': %s\n", path, strerror(errno));
        return -1;
    }
    for (i = 0; i < n; i++)
        if (ws[i].out.len && fwrite(ws[i].out.data, 1, ws[i].out.len, f) != ws[i].out.len)
            rc = -1;
    if (fclose(f) != 0)
        rc = -1;
    if (rc < 0)
        fprintf(stderr, "kvhist: cannot write '%s'\n", path);
    return rc;
}

int
main(int argc, char **argv)
{
    struct config cfg = {.clients = 4, .keys = 16, .timeout_ms = 2000, .seconds = 5, .prefix = ""};
    struct worker *ws;
    pthread_t tids[MAX_CLIENTS];
    const char *out = NULL;
    unsigned long ops = 0, ok = 0, unknown = 0, failed = 0;
    int i, n, missing = 0, rc = 1;

    cfg.seed = (unsigned)time(NULL);
    if (parse_args(argc, argv, &cfg, &out) < 0)
        return 2;
    /* A member killed mid-request must not kill the recorder. */
    signal(SIGPIPE, SIG_IGN);
    n = cfg.final_reads ? 1 : cfg.clients;
    ws = calloc((size_t)n, sizeof(*ws));
    if (!ws)
        return 1;
    for (i = 0; i < n; i++) {
        ws[i].cfg = &cfg;
        ws[i].id = i;
        ws[i].server = i % cfg.nservers;
        ws[i].rnd = cfg.seed * 7919u + (unsigned)i;
        snprintf(ws[i].name, sizeof(ws[i].name), cfg.final_reads ? "final" : "c%d", i);
        sk_buf_init(&ws[i].out);
    }
    if (cfg.final_reads) {
        run_final(&ws[0]);
    } else {
        for (i = 0; i < n; i++)
            if (pthread_create(&tids[i], NULL, run_worker, &ws[i]) != 0) {
                fprintf(stderr, "kvhist: cannot start a client thread\n");
                abort();
            }
        for (i = 0; i < n; i++)
            pthread_join(tids[i], NULL);
    }
    for (i = 0; i < n; i++) {
        ops += ws[i].ops;
        ok += ws[i].ok;
        unknown += ws[i].unknown;
        failed += ws[i].failed;
        missing += ws[i].final_missing;
    }
    fprintf(stderr, "kvhist: %lu ops, %lu ok, %lu unknown, %lu failed (seed %u)\n", ops, ok,
            unknown, failed, cfg.seed);
    if (write_history(out, ws, n) == 0 && !missing)
        rc = 0;
    for (i = 0; i < n; i++)
        sk_buf_release(&ws[i].out);
    free(ws);
    return rc;
}
