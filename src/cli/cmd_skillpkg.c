/* cmd_skillpkg.c - `binday skill-package`: renders the skill package a
 * council submits to Amazon (docs/skill.md, "The skill package").
 *
 * The templates are deploy/skill-package/ (compiled in, so the command works
 * wherever the binary is installed): skill.json and the en-GB interaction
 * model are Breckland's, with REPLACE-WITH-* placeholders where only the
 * deployment knows the value. Rendering sets those (endpoints, icon URIs,
 * privacy and terms URLs, the testing address), puts the council's own
 * names in place of Breckland's (config keys council_name, council_area,
 * council_url, skill_name, invocation_name; every string of both files), and
 * generates the MATERIAL slot type from the council's materials table
 * (--data) or the default list (data/materials.csv). It then refuses to
 * write anything that still says REPLACE. The APL document and the icons
 * are written too: the same bytes the server sends and serves.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "binday/config/config.h"
#include "binday/data/csv.h"
#include "binday/data/materials.h"
#include "binday/data/store.h"
#include "binday/dev/demodata.h"
#include "binday/skill/apl.h"
#include "binday/skill/icons.h"
#include "binday/util/xalloc.h"

__asm__(".section .rodata\n"
        ".global binday_pkg_skill\n"
        "binday_pkg_skill:\n"
        ".incbin \"deploy/skill-package/skill.json\"\n"
        ".byte 0\n"
        ".global binday_pkg_model\n"
        "binday_pkg_model:\n"
        ".incbin \"deploy/skill-package/interactionModels/custom/en-GB.json\"\n"
        ".byte 0\n"
        ".previous\n");
extern const char binday_pkg_skill[];
extern const char binday_pkg_model[];

static void usage(FILE *out)
{
    fprintf(out,
            "usage: binday skill-package --public-url URL --privacy-url URL --terms-url URL --out DIR\n"
            "                            [--config FILE] [--data DIR] [--test-address TEXT]\n\n"
            "Write the skill package to submit to Amazon (ASK CLI layout) into DIR:\n"
            "  skill.json                                  the manifest\n"
            "  interactionModels/custom/en-GB.json         the interaction model\n"
            "  response/display/%s/document.json   the Echo Show document\n"
            "  assets/images/%s, %s   the icons binday serves\n\n"
            "--public-url   https base where this binday answers (endpoint URL/alexa; icons URL%s...)\n"
            "--privacy-url  the privacy notice, opening at the skill's section (https)\n"
            "--terms-url    the terms of use (https)\n"
            "--config       the serve config: council_name, council_area, council_url, skill_name,\n"
            "               invocation_name, skill_test_address (defaults: Breckland's)\n"
            "--data         the data directory: the MATERIAL slot values come from its materials\n"
            "               table (default: the built-in list, data/materials.csv)\n"
            "--test-address an address in the district for Amazon's testers\n"
            "Nothing is written when any value is missing or invalid (exit 2) or a\n"
            "placeholder would remain (exit 1).\n",
            SKILL_APL_DOCUMENT_NAME, SKILL_ICON_SMALL_NAME, SKILL_ICON_LARGE_NAME, SKILL_ICON_PREFIX);
}

/* An https URL we can write into JSON and a manifest: no spaces, quotes,
 * control bytes or fragments; a host after the scheme. */
static int valid_url(const char *u)
{
    size_t n = strlen(u);
    if (n < 9 || n > 200 || strncmp(u, "https://", 8) != 0 || u[8] == '/')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)u[i];
        if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>')
            return 0;
    }
    return 1;
}

static int valid_invocation(const char *s)
{
    size_t n = strlen(s);
    if (n < 2 || n > 50 || s[0] < 'a' || s[0] > 'z' || s[n - 1] < 'a' || s[n - 1] > 'z')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == ' ' || s[i] == '\''))
            return 0;
    return 1;
}

/* ---- string substitution over a JSON tree ------------------------------------ */

typedef struct subst {
    const char *from, *to;
} subst_t;

/* s with every occurrence of each from (in table order) replaced; malloc'd. */
static char *replace_all(const char *s, const subst_t *t, size_t nt)
{
    char *cur = xstrdup(s);
    for (size_t i = 0; i < nt; i++) {
        if (!strcmp(t[i].from, t[i].to))
            continue;
        size_t fl = strlen(t[i].from), tl = strlen(t[i].to), count = 0;
        for (const char *p = strstr(cur, t[i].from); p; p = strstr(p + fl, t[i].from))
            count++;
        if (!count)
            continue;
        char *out = xmalloc(strlen(cur) + count * tl + 1), *o = out;
        const char *p = cur, *q;
        while ((q = strstr(p, t[i].from)) != NULL) {
            memcpy(o, p, (size_t)(q - p));
            o += q - p;
            memcpy(o, t[i].to, tl);
            o += tl;
            p = q + fl;
        }
        strcpy(o, p);
        free(cur);
        cur = out;
    }
    return cur;
}

static void subst_tree(json_t *v, const subst_t *t, size_t nt)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x)
        {
            if (json_is_string(x)) {
                char *r = replace_all(json_string_value(x), t, nt);
                json_object_set_new(v, k, json_string(r));
                free(r);
            } else {
                subst_tree(x, t, nt);
            }
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
        {
            if (json_is_string(x)) {
                char *r = replace_all(json_string_value(x), t, nt);
                json_array_set_new(v, i, json_string(r));
                free(r);
            } else {
                subst_tree(x, t, nt);
            }
        }
    }
}

/* ---- MATERIAL slot values ----------------------------------------------------- */

/* {"id": slug, "name": {"value": name, "synonyms": [...]}}, synonyms that
 * say the same as the name or an earlier synonym left out. */
static json_t *slot_value(const char *name, size_t name_n, const char *syn, size_t syn_n)
{
    char id[MATERIALS_MAX_ID + 1];
    materials_slug(id, sizeof(id), name, name_n);
    json_t *synonyms = json_array();
    json_t *seen = json_object();
    json_object_set_new(seen, id, json_true());
    const char *p = syn, *end = syn ? syn + syn_n : NULL;
    while (p && p <= end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *e = semi ? semi : end;
        const char *a = p;
        while (a < e && *a == ' ')
            a++;
        const char *b = e;
        while (b > a && b[-1] == ' ')
            b--;
        char s[MATERIALS_MAX_ID + 1];
        if (materials_slug(s, sizeof(s), a, (size_t)(b - a)) && !json_object_get(seen, s)) {
            json_object_set_new(seen, s, json_true());
            json_array_append_new(synonyms, json_stringn(a, (size_t)(b - a)));
        }
        p = e + 1;
    }
    json_decref(seen);
    json_t *nm = json_pack("{s:s%}", "value", name, name_n);
    if (json_array_size(synonyms))
        json_object_set_new(nm, "synonyms", synonyms);
    else
        json_decref(synonyms);
    return json_pack("{s:s,s:o}", "id", id, "name", nm);
}

static int add_stored(const material_t *m, void *ud)
{
    json_array_append_new(ud, slot_value(m->name.p, m->name.n, m->synonyms.p, m->synonyms.n));
    return 0;
}

static int by_id(const void *a, const void *b)
{
    const char *x = json_string_value(json_object_get(*(json_t *const *)a, "id"));
    const char *y = json_string_value(json_object_get(*(json_t *const *)b, "id"));
    return strcmp(x, y);
}

/* The default list: data/materials.csv as compiled in (checked by the
 * import in the tests, so only the two columns are read here). */
static void add_defaults(json_t *values)
{
    size_t len;
    const char *csv = demodata_materials_csv(&len);
    csv_reader_t rd;
    csv_init(&rd, (const uint8_t *)csv, len);
    csv_record_t *rec = xmalloc(sizeof(*rec));
    char err[200];
    size_t line;
    int col_name = -1, col_syn = -1, header = 1;
    while (csv_next(&rd, rec, err, sizeof(err), &line) == CSV_RECORD) {
        if (header) {
            for (size_t i = 0; i < rec->n; i++) {
                if (rec->f[i].len == 8 && !memcmp(rec->f[i].ptr, "material", 8))
                    col_name = (int)i;
                if (rec->f[i].len == 8 && !memcmp(rec->f[i].ptr, "synonyms", 8))
                    col_syn = (int)i;
            }
            header = 0;
            continue;
        }
        if (col_name < 0 || (size_t)col_name >= rec->n)
            continue;
        const csv_field_t *nf = &rec->f[col_name];
        const csv_field_t *sf = col_syn >= 0 && (size_t)col_syn < rec->n ? &rec->f[col_syn] : NULL;
        json_array_append_new(values, slot_value(nf->ptr, nf->len, sf && sf->len ? sf->ptr : NULL, sf ? sf->len : 0));
    }
    free(rec);
    csv_free(&rd);
}

static int material_values(const char *data, json_t **out, char *err, size_t err_size)
{
    json_t *values = json_array();
    if (data) {
        struct stat st;
        if (stat(data, &st) != 0 || !S_ISDIR(st.st_mode)) {
            snprintf(err, err_size, "--data %s: not a data directory", data);
            json_decref(values);
            return -1;
        }
        store_t *s;
        if (store_open(data, NULL, 0, &s, err, err_size) != 0) {
            json_decref(values);
            return -1;
        }
        store_reader_t *r = store_reader_new(s);
        MDB_txn *txn;
        int rc = store_reader_begin(r, &txn, err, err_size);
        if (rc == 0) {
            rc = materials_list(s, txn, add_stored, values);
            if (rc)
                snprintf(err, err_size, "reading materials: %s", mdb_strerror(rc));
            store_reader_end(r);
        }
        store_reader_free(r);
        store_close(s);
        if (rc) {
            json_decref(values);
            return -1;
        }
        if (json_array_size(values) == 0)
            fprintf(stderr, "binday skill-package: %s has no materials; using the built-in list "
                            "(import materials.csv so that answers and slot values agree)\n",
                    data);
    }
    if (json_array_size(values) == 0)
        add_defaults(values);
    /* id order, as the store keeps them: the same data gives the same file */
    size_t n = json_array_size(values);
    json_t **v = xmalloc(n * sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(values, i));
    qsort(v, n, sizeof(*v), by_id);
    json_array_clear(values);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(values, v[i]);
    free(v);
    *out = values;
    return 0;
}

/* ---- writing ------------------------------------------------------------------ */

static int mkdirs(const char *dir, const char *sub, char *path, size_t n)
{
    snprintf(path, n, "%s/%s", dir, sub);
    for (char *p = path + strlen(dir) + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(path, 0755);
        *p = '/';
        if (rc != 0 && errno != EEXIST)
            return -1;
    }
    return 0;
}

static int write_file(const char *dir, const char *sub, const void *data, size_t len, char *err, size_t err_size)
{
    char path[4096];
    if (mkdirs(dir, sub, path, sizeof(path)) != 0) {
        snprintf(err, err_size, "%.900s: %s", path, strerror(errno));
        return -1;
    }
    FILE *f = fopen(path, "wb");
    int ok = f != NULL && fwrite(data, 1, len, f) == len;
    if (f != NULL && fclose(f) != 0)
        ok = 0;
    if (!ok) {
        snprintf(err, err_size, "%.900s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static char *dump(json_t *v)
{
    char *s = json_dumps(v, JSON_INDENT(2));
    size_t n = s ? strlen(s) : 0;
    if (s == NULL) /* jansson fails a dump of its own tree only for memory */
        xalloc_die("skill package JSON", 0);
    char *out = xrealloc(s, n + 2); /* a final newline, as the committed files have */
    out[n] = '\n';
    out[n + 1] = '\0';
    return out;
}

static const char *conf_str(json_t *conf, const char *key, const char *dflt)
{
    const char *v = json_string_value(json_object_get(conf, key));
    return v ? v : dflt;
}

int cmd_skill_package(int argc, char **argv)
{
    static const struct option opts[] = {
        {"public-url", required_argument, NULL, 'p'}, {"privacy-url", required_argument, NULL, 'P'},
        {"terms-url", required_argument, NULL, 't'},  {"out", required_argument, NULL, 'o'},
        {"config", required_argument, NULL, 'c'},     {"data", required_argument, NULL, 'd'},
        {"test-address", required_argument, NULL, 'a'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *public_url = NULL, *privacy = NULL, *terms = NULL, *out = NULL, *config = NULL, *data = NULL,
               *test_address = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': public_url = optarg; break;
        case 'P': privacy = optarg; break;
        case 't': terms = optarg; break;
        case 'o': out = optarg; break;
        case 'c': config = optarg; break;
        case 'd': data = optarg; break;
        case 'a': test_address = optarg; break;
        case 'h': usage(stdout); return CLI_EXIT_OK;
        default: usage(stderr); return CLI_EXIT_USAGE;
        }
    }
    char err[1024];
    json_t *conf = NULL;
    if (config && config_load_file(config, &conf, err, sizeof(err)) != 0) {
        fprintf(stderr, "binday skill-package: %s\n", err);
        return CLI_EXIT_USAGE;
    }
    if (public_url == NULL)
        public_url = conf_str(conf, "public_url", NULL);
    if (test_address == NULL)
        test_address = conf_str(conf, "skill_test_address", NULL);
    const char *council = conf_str(conf, "council_name", "Breckland District Council");
    const char *area = conf_str(conf, "council_area", "Breckland");
    const char *council_url = conf_str(conf, "council_url", "https://www.breckland.gov.uk/bins");
    const char *skill_name = conf_str(conf, "skill_name", "Breckland bins");
    const char *invocation = conf_str(conf, "invocation_name", "breckland bins");
    const char *bad = NULL;
    if (public_url == NULL || privacy == NULL || terms == NULL || out == NULL || optind != argc)
        bad = "--public-url (or the config's public_url), --privacy-url, --terms-url and --out are required";
    else if (!valid_url(public_url) || !valid_url(privacy) || !valid_url(terms) || !valid_url(council_url))
        bad = "the URLs must be https://HOST... with no spaces, quotes or fragment";
    else if (!valid_invocation(invocation))
        bad = "invocation_name: lower-case letters, spaces and apostrophes (2-50)";
    else if (test_address && (strlen(test_address) > 200 || strpbrk(test_address, "\"\\\n\r\t")))
        bad = "--test-address: at most 200 characters, no quotes or line breaks";
    if (bad) {
        fprintf(stderr, "binday skill-package: %s\n", bad);
        usage(stderr);
        json_decref(conf);
        return CLI_EXIT_USAGE;
    }
    char base[256];
    snprintf(base, sizeof(base), "%s", public_url);
    for (size_t n = strlen(base); n > 8 && base[n - 1] == '/'; n--)
        base[n - 1] = '\0';

    json_error_t je;
    json_t *skill = json_loads(binday_pkg_skill, 0, &je);
    json_t *model = json_loads(binday_pkg_model, 0, &je);
    if (skill == NULL || model == NULL) { /* compiled in and tested */
        fprintf(stderr, "binday skill-package: built-in template: %s\n", je.text);
        abort();
    }
    /* the council's names in place of Breckland's: longest first */
    const subst_t names[] = {
        {"https://www.breckland.gov.uk/bins", council_url},
        {"Breckland District Council", council},
        {"Breckland bins", skill_name},
        {"breckland bins", invocation},
        {"Breckland", area},
    };
    subst_tree(skill, names, sizeof(names) / sizeof(names[0]));
    char endpoint[300], small[300], large[300], address_sentence[400];
    snprintf(endpoint, sizeof(endpoint), "%s/alexa", base);
    snprintf(small, sizeof(small), "%s%s%s", base, SKILL_ICON_PREFIX, SKILL_ICON_SMALL_NAME);
    snprintf(large, sizeof(large), "%s%s%s", base, SKILL_ICON_PREFIX, SKILL_ICON_LARGE_NAME);
    if (test_address)
        snprintf(address_sentence, sizeof(address_sentence), "for example: %s.", test_address);
    else
        snprintf(address_sentence, sizeof(address_sentence), "any address the council collects from.");
    const subst_t places[] = {
        {"https://REPLACE-WITH-PUBLIC-HOST/alexa", endpoint},
        {"https://REPLACE-WITH-PUBLIC-URL/static/skill-icon-108.png", small},
        {"https://REPLACE-WITH-PUBLIC-URL/static/skill-icon-512.png", large},
        {"https://REPLACE-WITH-PRIVACY-URL", privacy},
        {"https://REPLACE-WITH-TERMS-URL", terms},
        {"for example: REPLACE-WITH-TEST-ADDRESS.", address_sentence},
    };
    subst_tree(skill, places, sizeof(places) / sizeof(places[0]));

    json_t *lm = json_object_get(json_object_get(model, "interactionModel"), "languageModel");
    json_object_set_new(lm, "invocationName", json_string(invocation));
    json_t *values;
    if (material_values(data, &values, err, sizeof(err)) != 0) {
        fprintf(stderr, "binday skill-package: %s\n", err);
        json_decref(skill);
        json_decref(model);
        json_decref(conf);
        return CLI_EXIT_RUNTIME;
    }
    size_t i;
    json_t *type;
    json_array_foreach(json_object_get(lm, "types"), i, type)
    {
        if (!strcmp(json_string_value(json_object_get(type, "name")), "MATERIAL"))
            json_object_set(type, "values", values);
    }
    json_decref(values);

    char *skill_text = dump(skill), *model_text = dump(model);
    json_decref(skill);
    json_decref(model);
    int rc = CLI_EXIT_OK;
    if (strstr(skill_text, "REPLACE") || strstr(model_text, "REPLACE")) {
        /* a template placeholder without a rule above: a bug, never a package */
        fprintf(stderr, "binday skill-package: a REPLACE placeholder would remain; nothing written\n");
        rc = CLI_EXIT_RUNTIME;
    }
    size_t doc_len, small_len, large_len;
    const char *doc = skill_apl_document(&doc_len);
    const uint8_t *small_png = skill_icon_png(SKILL_ICON_SMALL, &small_len);
    const uint8_t *large_png = skill_icon_png(SKILL_ICON_LARGE, &large_len);
    char doc_path[200], small_path[200], large_path[200];
    snprintf(doc_path, sizeof(doc_path), "response/display/%s/document.json", SKILL_APL_DOCUMENT_NAME);
    snprintf(small_path, sizeof(small_path), "assets/images/%s", SKILL_ICON_SMALL_NAME);
    snprintf(large_path, sizeof(large_path), "assets/images/%s", SKILL_ICON_LARGE_NAME);
    if (rc == CLI_EXIT_OK && mkdir(out, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "binday skill-package: %s: %s\n", out, strerror(errno));
        rc = CLI_EXIT_RUNTIME;
    }
    if (rc == CLI_EXIT_OK &&
        (write_file(out, "skill.json", skill_text, strlen(skill_text), err, sizeof(err)) ||
         write_file(out, "interactionModels/custom/en-GB.json", model_text, strlen(model_text), err, sizeof(err)) ||
         write_file(out, doc_path, doc, doc_len, err, sizeof(err)) ||
         write_file(out, small_path, small_png, small_len, err, sizeof(err)) ||
         write_file(out, large_path, large_png, large_len, err, sizeof(err)))) {
        fprintf(stderr, "binday skill-package: %s\n", err);
        rc = CLI_EXIT_RUNTIME;
    }
    if (rc == CLI_EXIT_OK)
        printf("wrote %s: skill.json, interactionModels/custom/en-GB.json, %s, assets/images (icons at %s%s)\n", out,
               doc_path, base, SKILL_ICON_PREFIX);
    free(skill_text);
    free(model_text);
    json_decref(conf);
    return rc;
}
