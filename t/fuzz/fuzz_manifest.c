/* Fuzz target: the object decoder. Bytes are read as a manifest (YAML or
 * JSON, one or more documents, as `skiff apply -f` and the server read
 * them), then every document goes through the API server's create
 * pipeline (defaulting, metadata, validation), an update against itself,
 * a delete decision, and the CLI's printers. */
#include "api/object.h"
#include "api/print.h"
#include "lib/buf.h"
#include "lib/yaml.h"
#include "t/fuzz/fuzz.h"

#include <stdlib.h>

static uint32_t
fixed_rand(void *arg)
{
    uint32_t *state = arg;

    *state = *state * 1103515245u + 12345u;
    return *state;
}

static void
print_all(const struct api_kind *k, json_t *obj)
{
    static const enum api_print_format formats[] = {API_PRINT_TABLE, API_PRINT_WIDE,
                                                    API_PRINT_TSV,   API_PRINT_JSON,
                                                    API_PRINT_YAML,  API_PRINT_NAME};
    struct sk_buf out;

    sk_buf_init(&out);
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
        struct api_print_opts o = {.format = formats[i], .now = 1764100000};
        struct sk_err err = {0};

        api_print_objects(k, &obj, 1, &o, &out, &err);
    }
    api_print_describe(k, obj, NULL, 1764100000, &out);
    sk_buf_release(&out);
}

static void
through_pipeline(json_t *doc)
{
    uint32_t seed = 1;
    struct api_meta_ctx ctx = {.now = 1764100000,
                               .uid = "0b6f6a4e-1b2c-4d5e-8f90-123456789abc",
                               .rev = 7,
                               .rand = fixed_rand,
                               .rand_arg = &seed};
    const struct api_kind *k = NULL;
    struct api_errors errs;
    struct sk_err err = {0};
    json_t *copy = json_deep_copy(doc);

    api_errors_init(&errs);
    if (api_object_prepare_create(doc, &ctx, &k, &errs, &err) == 0 && copy) {
        struct api_delete_opts del = {.grace_seconds = -1};

        print_all(k, doc);
        api_errors_release(&errs);
        api_errors_init(&errs);
        ctx.rev = 8;
        json_decref(copy);
        copy = json_deep_copy(doc);
        api_object_prepare_update(doc, copy, API_UPDATE_MAIN, &ctx, &errs, &err);
        api_meta_prepare_delete(copy, k, &del, &ctx, &err);
    } else if (k) {
        print_all(k, doc);
    }
    json_decref(copy);
    api_errors_release(&errs);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t **docs = NULL;
    size_t n = 0;
    struct sk_err err = {0};

    if (sk_manifest_parse((const char *)data, size, &docs, &n, &err) < 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        through_pipeline(docs[i]);
    sk_json_docs_free(docs, n);
    return 0;
}
