/* config.c - owns `binday serve` option parsing: the command line and an optional
 * JSON config file merge into one document, which is validated against the
 * schema compiled into the binary, then read into config_t.
 *
 * The options are generated from the schema (key `tls_cert` is flag
 * `--tls-cert`), so the file, the flags and --help can never disagree. */
#include "binday/config/config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "binday/json/jschema.h"
#include "binday/util/xalloc.h"

/* The schema file, embedded at build time (the build runs from the repo root). */
__asm__(".section .rodata\n"
        ".global binday_config_schema\n"
        ".type binday_config_schema, @object\n"
        "binday_config_schema:\n"
        ".incbin \"schemas/config.schema.json\"\n"
        ".byte 0\n"
        ".previous\n");
extern const char binday_config_schema[];

static json_t *load_schema(void)
{
    json_error_t e;
    json_t *s = json_loads(binday_config_schema, 0, &e);
    if (s == NULL) {
        /* Broken invariant: the schema is compiled in and a test loads it, so
         * only a broken build (or jansson out of memory) gets here. */
        fprintf(stderr, "binday: embedded config schema: %s (line %d)\n", e.text, e.line);
        abort();
    }
    return s;
}

void config_print_help(void)
{
    json_t *schema = load_schema();
    json_t *props = json_object_get(schema, "properties");
    printf("usage: binday serve [--config FILE] --data DIR --tls-cert FILE --tls-key FILE --skill-id ID [options]\n\n"
           "Serves POST /alexa (signed Alexa requests and skill events), GET /healthz and\n"
           "GET /calendar/{token}.ics over HTTPS. Options (each is also a key of the JSON\n"
           "config file, with '_' for '-'; flags override the file):\n\n"
           "  --config FILE              JSON file, schema in schemas/config.schema.json\n");
    const char *key;
    json_t *p;
    json_object_foreach(props, key, p)
    {
        char flag[64];
        snprintf(flag, sizeof(flag), "--%s", key);
        for (char *c = flag; *c; c++)
            if (*c == '_')
                *c = '-';
        const char *type = json_string_value(json_object_get(p, "type"));
        const char *arg = "";
        if (type && strcmp(type, "integer") == 0)
            arg = " N";
        else if (type && strcmp(type, "string") == 0)
            arg = " VALUE";
        else if (type && strcmp(type, "array") == 0)
            arg = " VALUE (repeatable)";
        char left[96];
        snprintf(left, sizeof(left), "%s%s", flag, arg);
        const char *d = json_string_value(json_object_get(p, "description"));
        printf("  %-26s %s\n", left, d ? d : "");
    }
    printf("\nSIGTERM/SIGINT: stop accepting, finish in-flight requests, exit 0.\n");
    printf("Started by systemd socket activation (LISTEN_FDS=1, LISTEN_PID), it serves the\n"
           "inherited socket (fd 3) and ignores --listen.\n");
    json_decref(schema);
}

static int parse_int_strict(const char *s, long long *out)
{
    char *end;
    errno = 0;
    if (*s == 0 || isspace((unsigned char)*s))
        return -1;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

static int read_config_file(const char *path, json_t **out, char *err, size_t err_size)
{
    json_error_t je;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (doc == NULL) {
        snprintf(err, err_size, "config %s: %s (line %d, column %d)", path, je.text, je.line, je.column);
        return -1;
    }
    if (!json_is_object(doc)) {
        snprintf(err, err_size, "config %s: must be a JSON object", path);
        json_decref(doc);
        return -1;
    }
    *out = doc;
    return 0;
}

int config_load_file(const char *path, json_t **out, char *err, size_t err_size)
{
    json_t *doc;
    if (read_config_file(path, &doc, err, err_size) != 0)
        return -1;
    json_t *schema = load_schema();
    /* the keys serve requires (data, tls_cert...) are serve's business */
    json_object_del(schema, "required");
    char verr[400];
    int rc = jschema_validate(schema, doc, verr, sizeof(verr));
    json_decref(schema);
    if (rc != 0) {
        snprintf(err, err_size, "config %s: %s", path, verr[0] == '/' ? verr + 1 : verr);
        json_decref(doc);
        return -1;
    }
    *out = doc;
    return 0;
}

static int split_listen(const char *key, const char *s, char *host, size_t host_size, uint16_t *port_out, char *err,
                        size_t err_size)
{
    const char *colon = strrchr(s, ':');
    long long port;
    if (colon == NULL || parse_int_strict(colon + 1, &port) != 0 || port < 0 || port > 65535) {
        snprintf(err, err_size, "%s: want ADDR:PORT, got '%.100s'", key, s);
        return -1;
    }
    size_t hl = (size_t)(colon - s);
    if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') { /* [::1]:443 */
        s++;
        hl -= 2;
    }
    if (hl == 0 || hl >= host_size) {
        snprintf(err, err_size, "%s: bad address in '%.100s'", key, s);
        return -1;
    }
    memcpy(host, s, hl);
    host[hl] = 0;
    *port_out = (uint16_t)port;
    return 0;
}

static const char **string_array(json_t *arr, size_t *n)
{
    *n = json_array_size(arr);
    const char **v = xcalloc(*n + 1, sizeof(*v));
    for (size_t i = 0; i < *n; i++)
        v[i] = json_string_value(json_array_get(arr, i));
    return v;
}

static const char *get_str(json_t *doc, const char *k)
{
    return json_string_value(json_object_get(doc, k));
}

static long long get_int(json_t *doc, const char *k, long long dflt)
{
    json_t *v = json_object_get(doc, k);
    return json_is_number(v) ? (long long)json_number_value(v) : dflt;
}

int config_parse_serve(int argc, char **argv, config_t *c, char *err, size_t err_size)
{
    memset(c, 0, sizeof(*c));
    json_t *schema = load_schema();
    json_t *props = json_object_get(schema, "properties");
    json_t *cli = json_object();
    const char *config_file = NULL;
    int rc = 2;

    /* getopt_long table generated from the schema's properties */
    size_t nprops = json_object_size(props);
    struct option *opts = xcalloc(nprops + 3, sizeof(*opts));
    char **names = xcalloc(nprops, sizeof(*names));
    const char **keys = xcalloc(nprops, sizeof(*keys));
    if (cli == NULL)
        xalloc_die("json_object", 0);
    size_t i = 0;
    const char *key;
    json_t *p;
    json_object_foreach(props, key, p)
    {
        names[i] = xstrdup(key);
        for (char *ch = names[i]; *ch; ch++)
            if (*ch == '_')
                *ch = '-';
        keys[i] = key;
        const char *type = json_string_value(json_object_get(p, "type"));
        opts[i].name = names[i];
        opts[i].has_arg = (type && strcmp(type, "boolean") == 0) ? no_argument : required_argument;
        opts[i].val = 1000 + (int)i;
        i++;
    }
    opts[i].name = "config";
    opts[i].has_arg = required_argument;
    opts[i].val = 'c';
    opts[i + 1].name = "help";
    opts[i + 1].val = 'h';

    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (ch == 'h') {
            config_print_help();
            rc = -1;
            goto out;
        }
        if (ch == 'c') {
            config_file = optarg;
            continue;
        }
        if (ch < 1000 || ch >= 1000 + (int)nprops) {
            snprintf(err, err_size, "unknown or incomplete option '%.100s' (see binday serve --help)",
                     argv[optind - 1]);
            goto out;
        }
        const char *k = keys[ch - 1000];
        const char *type = json_string_value(json_object_get(json_object_get(props, k), "type"));
        if (strcmp(type, "boolean") == 0) {
            json_object_set_new(cli, k, json_true());
        } else if (strcmp(type, "integer") == 0) {
            long long v;
            if (parse_int_strict(optarg, &v) != 0) {
                snprintf(err, err_size, "--%s: want a whole number, got '%.100s'", names[ch - 1000], optarg);
                goto out;
            }
            json_object_set_new(cli, k, json_integer(v));
        } else if (strcmp(type, "array") == 0) {
            json_t *arr = json_object_get(cli, k);
            if (arr == NULL) {
                arr = json_array();
                json_object_set_new(cli, k, arr);
            }
            json_array_append_new(arr, json_string(optarg));
        } else {
            json_object_set_new(cli, k, json_string(optarg));
        }
    }
    if (optind < argc) {
        snprintf(err, err_size, "unexpected argument '%.100s'", argv[optind]);
        goto out;
    }

    json_t *doc = NULL;
    if (config_file != NULL) {
        if (read_config_file(config_file, &doc, err, err_size) != 0)
            goto out;
        /* flags override the file; array flags replace the file's array */
        json_object_update(doc, cli);
    } else {
        doc = json_incref(cli);
    }
    char verr[400];
    if (jschema_validate(schema, doc, verr, sizeof(verr)) != 0) {
        /* "/threads: must be ..." -> name the key as the operator wrote it */
        snprintf(err, err_size, "%s%s%s", config_file ? "config " : "configuration ", config_file ? config_file : "",
                 config_file ? ": " : ": ");
        strncat(err, verr[0] == '/' ? verr + 1 : verr, err_size - strlen(err) - 1);
        json_decref(doc);
        goto out;
    }
    c->doc = doc;
    c->data = get_str(doc, "data");
    if (split_listen("listen", get_str(doc, "listen") ? get_str(doc, "listen") : "0.0.0.0:443", c->listen_host,
                     sizeof(c->listen_host), &c->listen_port, err, err_size) != 0)
        goto out;
    c->port_file = get_str(doc, "port_file");
    c->admin = get_str(doc, "admin_listen") != NULL;
    if (c->admin && split_listen("admin_listen", get_str(doc, "admin_listen"), c->admin_host, sizeof(c->admin_host),
                                 &c->admin_port, err, err_size) != 0)
        goto out;
    c->admin_port_file = get_str(doc, "admin_port_file");
    c->staff_listen = get_str(doc, "staff_listen") != NULL;
    if (c->staff_listen && split_listen("staff_listen", get_str(doc, "staff_listen"), c->staff_host,
                                        sizeof(c->staff_host), &c->staff_port, err, err_size) != 0)
        goto out;
    c->staff_port_file = get_str(doc, "staff_port_file");
    c->staff_tls_cert = get_str(doc, "staff_tls_cert");
    c->staff_tls_key = get_str(doc, "staff_tls_key");
    if ((c->staff_tls_cert == NULL) != (c->staff_tls_key == NULL)) {
        snprintf(err, err_size, "staff_tls_cert and staff_tls_key go together");
        goto out;
    }
    c->tls_cert = get_str(doc, "tls_cert");
    c->tls_key = get_str(doc, "tls_key");
    c->skill_ids = string_array(json_object_get(doc, "skill_id"), &c->n_skill_ids);
    c->connect_to = string_array(json_object_get(doc, "connect_to"), &c->n_connect_to);
    c->alexa_ca = get_str(doc, "alexa_ca");
    c->upstream_ca = get_str(doc, "upstream_ca");
    c->smtp = get_str(doc, "smtp");
    c->smtp_user = get_str(doc, "smtp_user");
    c->smtp_password_file = get_str(doc, "smtp_password_file");
    c->mail_from = get_str(doc, "mail_from");
    c->public_url = get_str(doc, "public_url");
    c->mail_retry_base_ms = (int)get_int(doc, "mail_retry_base_ms", 60000);
    c->mail_max_attempts = (int)get_int(doc, "mail_max_attempts", 10);
    c->mail_user_daily_cap = (int)get_int(doc, "mail_user_daily_cap", 3);
    c->mail_global_hourly_cap = (int)get_int(doc, "mail_global_hourly_cap", 300);
    c->council_phone = get_str(doc, "council_phone") ? get_str(doc, "council_phone") : "01362 656870";
    c->council_website = get_str(doc, "council_website") ? get_str(doc, "council_website") : "breckland.gov.uk/bins";
    c->today = get_str(doc, "today");
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    c->threads = (int)get_int(doc, "threads", ncpu > 0 ? ncpu : 1);
    c->dev = json_is_true(json_object_get(doc, "dev"));
    c->http2 = json_is_true(json_object_get(doc, "http2"));
    c->max_body_bytes = (size_t)get_int(doc, "max_body_bytes", 65536);
    c->max_connections = (int)get_int(doc, "max_connections", 4096);
    c->request_timeout_ms = (uint64_t)get_int(doc, "request_timeout_ms", 10000);
    c->handshake_timeout_ms = (uint64_t)get_int(doc, "handshake_timeout_ms", 10000);
    c->handler_timeout_ms = (uint64_t)get_int(doc, "handler_timeout_ms", 7000);
    c->shutdown_grace_ms = (uint64_t)get_int(doc, "shutdown_grace_ms", 10000);
    const char *lv = get_str(doc, "log_level");
    c->log_level = LOG_INFO;
    if (lv && strcmp(lv, "debug") == 0)
        c->log_level = LOG_DEBUG;
    else if (lv && strcmp(lv, "warn") == 0)
        c->log_level = LOG_WARN;
    else if (lv && strcmp(lv, "error") == 0)
        c->log_level = LOG_ERROR;
    if (c->smtp != NULL && strncmp(c->smtp, "smtps://", 8) != 0 && strncmp(c->smtp, "smtp://", 7) != 0) {
        snprintf(err, err_size, "smtp: want smtps://HOST:PORT or smtp://HOST:PORT, got '%.100s'", c->smtp);
        goto out;
    }
    /* spoken to residents: only characters that read out plainly (and need no SSML escaping) */
    if (strspn(c->council_phone, "0123456789 +()-") != strlen(c->council_phone)) {
        snprintf(err, err_size, "council_phone: digits, spaces and + ( ) - only");
        goto out;
    }
    if (strspn(c->council_website, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789./-") !=
            strlen(c->council_website) ||
        strstr(c->council_website, "//")) {
        snprintf(err, err_size, "council_website: a host and path without https:// (breckland.gov.uk/bins)");
        goto out;
    }
    if (c->public_url != NULL && strncmp(c->public_url, "https://", 8) != 0) {
        snprintf(err, err_size, "public_url: must start with https://");
        goto out;
    }
    if (c->smtp != NULL && (c->mail_from == NULL || c->public_url == NULL)) {
        snprintf(err, err_size, "smtp: needs mail_from and public_url (the links emailed are built from it)");
        goto out;
    }
    if ((c->smtp_user == NULL) != (c->smtp_password_file == NULL)) {
        snprintf(err, err_size, "smtp_user and smtp_password_file go together");
        goto out;
    }
    rc = 0;
out:
    if (rc != 0 && c->doc != NULL) {
        config_free(c);
    }
    for (size_t j = 0; j < nprops; j++)
        free(names[j]);
    free(names);
    free(keys);
    free(opts);
    json_decref(cli);
    json_decref(schema);
    return rc;
}

/* Keys SIGHUP applies (config.h); tls_cert and tls_key are re-read by the
 * server itself. Every other key needs a restart. */
static const char *const reloadable[] = {"tls_cert", "tls_key", "log_level", NULL};

int config_is_reloadable(const char *key)
{
    for (int i = 0; reloadable[i]; i++)
        if (strcmp(reloadable[i], key) == 0)
            return 1;
    return 0;
}

size_t config_restart_keys(const config_t *old, const config_t *fresh, char *out, size_t out_size)
{
    size_t n = 0, len = 0;
    if (out_size)
        out[0] = '\0';
    json_t *schema = load_schema();
    const char *key;
    json_t *p;
    json_object_foreach(json_object_get(schema, "properties"), key, p)
    {
        (void)p;
        if (config_is_reloadable(key))
            continue;
        json_t *a = json_object_get(old->doc, key), *b = json_object_get(fresh->doc, key);
        if ((a == NULL) == (b == NULL) && (a == NULL || json_equal(a, b)))
            continue;
        n++;
        if (out_size > len) {
            int w = snprintf(out + len, out_size - len, "%s%s", len ? "," : "", key);
            if (w > 0)
                len += (size_t)w < out_size - len ? (size_t)w : out_size - len - 1;
        }
    }
    json_decref(schema);
    return n;
}

void config_free(config_t *c)
{
    free(c->skill_ids);
    free(c->connect_to);
    json_decref(c->doc);
    memset(c, 0, sizeof(*c));
}
