/* test_csv.c - RFC 4180 reader: quoting, line ends, BOM, line numbers, errors. */
#include <stdlib.h>
#include <string.h>

#include "binday/data/csv.h"
#include "tap.h"

static csv_reader_t rd;
static csv_record_t rec;
static char err[200];
static size_t eline;

static void start(const char *s)
{
    csv_free(&rd);
    csv_init(&rd, (const uint8_t *)s, strlen(s));
}

static int next(void)
{
    return csv_next(&rd, &rec, err, sizeof(err), &eline);
}

static int field_is(size_t i, const char *want)
{
    return i < rec.n && rec.f[i].len == strlen(want) && memcmp(rec.f[i].ptr, want, rec.f[i].len) == 0;
}

int main(void)
{
    start("a,b,c\n1,2,3\n");
    is_int(next(), CSV_RECORD, "header");
    ok(rec.n == 3 && field_is(0, "a") && field_is(2, "c"), "header fields");
    is_int(rec.line, 1, "line 1");
    is_int(next(), CSV_RECORD, "row");
    is_int(rec.line, 2, "line 2");
    is_int(next(), CSV_EOF, "eof");

    start("\xEF\xBB\xBFuprn,town\r\n1,\"DEREHAM, NORFOLK\"\r\n2,\"say \"\"hi\"\"\"\r\n");
    next();
    ok(field_is(0, "uprn"), "BOM skipped");
    next();
    ok(field_is(1, "DEREHAM, NORFOLK") && rec.f[1].quoted, "quoted comma");
    next();
    ok(field_is(1, "say \"hi\""), "doubled quotes unescaped");
    is_int(rec.line, 3, "CRLF line counting");

    start("a,b\n1,\"two\nlines\"\n3,x\n");
    next();
    next();
    ok(field_is(1, "two\nlines"), "embedded newline");
    is_int(rec.line, 2, "record starts on line 2");
    next();
    is_int(rec.line, 4, "next record on line 4");

    start("a,b\n\n\n1,2");
    next();
    is_int(next(), CSV_RECORD, "blank lines skipped, no final newline");
    is_int(rec.line, 4, "line after blanks");
    ok(field_is(1, "2"), "last field without newline");

    start("a,,c,\n");
    next();
    ok(rec.n == 4 && rec.f[1].len == 0 && rec.f[3].len == 0, "empty fields");

    start("a,b\n1,\"unterminated\n2,3\n");
    next();
    is_int(next(), CSV_ERROR, "unterminated quote");
    is_int(eline, 2, "reported at the opening line");
    ok(strstr(err, "unterminated") != NULL, "message: %s", err);

    start("a,b\n1,ab\"c\n2,3\n");
    next();
    is_int(next(), CSV_ERROR, "quote inside unquoted field");
    is_int(eline, 2, "line 2");
    is_int(next(), CSV_RECORD, "resynchronised at the next line");
    ok(field_is(0, "2") && rec.line == 3, "record after the error");

    start("a\n\"x\"y\n");
    next();
    is_int(next(), CSV_ERROR, "text after closing quote");

    start("a\rb\r");
    next();
    ok(field_is(0, "a"), "lone CR is a line end");
    next();
    ok(field_is(0, "b") && rec.line == 2, "CR line counting");

    /* too many fields */
    char many[400];
    size_t o = 0;
    for (int i = 0; i < 70; i++)
        many[o++] = ',';
    many[o++] = '\n';
    many[o] = 0;
    start(many);
    is_int(next(), CSV_ERROR, "more than CSV_MAX_FIELDS fields");

    start("");
    is_int(next(), CSV_EOF, "empty input");
    start("\xEF\xBB\xBF");
    is_int(next(), CSV_EOF, "BOM only");
    csv_free(&rd);
    return done_testing();
}
