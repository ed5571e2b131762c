/* Fuzz target: label selectors as `-l` and `selector=` carry them. A
 * selector that parses must format to text that parses again to the
 * same text (the server echoes selectors back in messages and continue
 * tokens). */
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/selector.h"
#include "t/fuzz/fuzz.h"

#include <stdlib.h>
#include <string.h>

static const char *
text_of(const struct sk_buf *b)
{
    return b->data ? b->data : "";
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = sk_strndup((const char *)data, size);
    struct sk_selector a, b;
    struct sk_buf fa, fb;
    struct sk_err err = {0};

    sk_selector_init(&a);
    sk_selector_init(&b);
    sk_buf_init(&fa);
    sk_buf_init(&fb);
    if (sk_selector_parse(text, &a, &err) == 0 && sk_selector_format(&a, &fa) == 0) {
        if (sk_selector_parse(text_of(&fa), &b, &err) < 0)
            abort(); /* formatted text must parse */
        if (sk_selector_format(&b, &fb) < 0 || strcmp(text_of(&fa), text_of(&fb)) != 0)
            abort(); /* and be a fixed point */
    }
    sk_buf_release(&fa);
    sk_buf_release(&fb);
    sk_selector_release(&a);
    sk_selector_release(&b);
    free(text);
    return 0;
}
