/* Why a pod fits nowhere, in kube-scheduler's words (FitError.Error):
 *
 *     0/5 nodes are available: 3 Insufficient cpu, 2 node(s) had
 *     untolerated taint {dedicated: gpu}.
 *
 * Each rejected node adds its reasons (a node short of both cpu and
 * memory adds two). The histogram is ordered by count, largest first,
 * then by reason in byte order, so the common cause leads and the text
 * is stable (Kubernetes sorts the "N reason" strings as text, which puts
 * "10 ..." before "2 ..."; counting down reads better). */
#include "lib/alloc.h"
#include "lib/buf.h"
#include "sched/sched_int.h"

#include <stdlib.h>
#include <string.h>

struct sched_explain {
    struct sched_map reasons;
};

struct sched_explain *
sched_explain_new(void)
{
    struct sched_explain *ex = sk_calloc(1, sizeof(*ex));

    sched_map_init(&ex->reasons);
    return ex;
}

void
sched_explain_free(struct sched_explain *ex)
{
    if (!ex)
        return;
    sched_map_release(&ex->reasons);
    free(ex);
}

void
sched_explain_add(struct sched_explain *ex, const char *reason)
{
    sched_map_put(&ex->reasons, reason)->num++;
}

static int
by_count_then_reason(const void *a, const void *b)
{
    const struct sched_map_ent *x = *(struct sched_map_ent *const *)a;
    const struct sched_map_ent *y = *(struct sched_map_ent *const *)b;

    if (x->num != y->num)
        return x->num > y->num ? -1 : 1;
    return strcmp(x->key, y->key);
}

char *
sched_explain_message(const struct sched_explain *ex, size_t nodes)
{
    struct sched_map_ent **ents, *e;
    struct sk_buf out = SK_BUF_INIT;
    size_t i = 0, n = 0;

    if (nodes == 0 || !ex)
        return sk_strdup("no nodes available to schedule pods");
    ents = sk_calloc(ex->reasons.len + 1, sizeof(*ents));
    while ((e = sched_map_next(&ex->reasons, &i)))
        ents[n++] = e;
    qsort(ents, n, sizeof(*ents), by_count_then_reason);
    sk_buf_printf(&out, "0/%zu nodes are available", nodes);
    for (i = 0; i < n; i++)
        sk_buf_printf(&out, "%s%lld %s", i ? ", " : ": ", (long long)ents[i]->num, ents[i]->key);
    sk_buf_putc(&out, '.');
    free(ents);
    return sk_buf_detach(&out, NULL);
}
