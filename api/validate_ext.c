/* The one place where api/ touches quantities, label keys/values and
 * label selectors: thin adapters from the validators' vocabulary to
 * lib/quantity.h and lib/selector.h. */
#include "validate_int.h"

#include "lib/alloc.h"
#include "lib/quantity.h"
#include "lib/selector.h"

#include <errno.h>
#include <stdlib.h>

/* YAML turns "cpu: 1" and "cpu: 0.5" into numbers; Kubernetes accepts
 * them as quantities, and sk_quantity_from_json reads them exactly. */
int
ext_quantity_milli(const json_t *q, int64_t *milli, struct sk_err *err)
{
    struct sk_quantity x;

    if (!json_is_string(q) && !json_is_number(q))
        return sk_err_set(err, EINVAL, "must be a string or a number");
    if (sk_quantity_from_json(q, &x, err) < 0)
        return -EINVAL;
    *milli = sk_quantity_milli(&x);
    return 0;
}

int
ext_label_key_valid(const char *key, struct sk_err *err)
{
    return sk_label_key_valid(key, err);
}

int
ext_label_value_valid(const char *value, struct sk_err *err)
{
    return sk_label_value_valid(value, err);
}

struct ext_selector {
    struct sk_selector sel;
};

struct ext_selector *
ext_selector_new(const json_t *label_selector, const char *path, struct sk_err *err)
{
    struct ext_selector *sel = sk_malloc(sizeof(*sel));

    sk_selector_init(&sel->sel);
    if (sk_selector_from_json(label_selector, &sel->sel, path, err) < 0) {
        sk_selector_release(&sel->sel);
        free(sel);
        return NULL;
    }
    return sel;
}

bool
ext_selector_matches(const struct ext_selector *sel, const json_t *labels)
{
    return sk_selector_matches_json(&sel->sel, labels);
}

void
ext_selector_free(struct ext_selector *sel)
{
    if (!sel)
        return;
    sk_selector_release(&sel->sel);
    free(sel);
}
