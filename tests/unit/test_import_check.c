/* test_import_check.c - per-table validation of CSV bytes without a store
 * (import_check_buffer): messages carry FILE:LINE and every problem counts. */
#include <string.h>

#include "binday/data/import.h"
#include "tap.h"

static char last[1500];
static int nmsg;

static void on_err(const char *msg, void *ud)
{
    (void)ud;
    nmsg++;
    strncpy(last, msg, sizeof(last) - 1);
    printf("# %s\n", msg);
}

static size_t check(import_table_t t, const char *csv, size_t *rows)
{
    nmsg = 0;
    last[0] = 0;
    return import_check_buffer(t, "f.csv", (const uint8_t *)csv, strlen(csv), 100, on_err, NULL,
                               rows);
}

int main(void)
{
    size_t rows;
    is_int(check(IMPORT_ROUNDS,
                 "round_id,service_id,weekday,interval_weeks,anchor_date\n"
                 "A,refuse,MON,2,2026-11-30\n",
                 &rows),
           0, "valid rounds");
    is_int(rows, 1, "one row");
    is_int(check(IMPORT_ROUNDS,
                 "weekday,round_id,anchor_date,interval_weeks,service_id\n"
                 "mon,A,2026-11-30,1,refuse\n",
                 &rows),
           0, "any column order, weekday any case");
    is_int(check(IMPORT_ROUNDS,
                 "round_id,service_id,weekday,interval_weeks,anchor_date\n"
                 "A,refuse,MON,2,2026-11-30\nB,refuse,MON,0,2026-11-30\nA,refuse,MON,2,2026-11-30\n"
                 "C,refuse,MON,2,2026-12-01\n",
                 &rows),
           3, "three problems");
    ok(strstr(last, "f.csv:4: duplicate round_id \"A\" (first on line 2)") != NULL,
       "duplicate reported at its line: %s", last);
    is_int(check(IMPORT_ADDRESSES, "uprn,paon,street,town,postcode,colour\n", &rows), 1,
           "unknown column");
    ok(strstr(last, "f.csv:1: unknown column \"colour\"") != NULL, "on line 1");
    is_int(check(IMPORT_ADDRESSES, "uprn,paon,street,town\n", &rows), 1, "missing required column");
    is_int(check(IMPORT_ADDRESSES,
                 "uprn,paon,street,town,postcode\n"
                 "007,12,HIGH ST,DEREHAM,nr191aa\n"
                 ",12,HIGH ST,DEREHAM,NR19 1AA\n"
                 "8,12,HIGH ST,DEREHAM,NOTAPC\n",
                 &rows),
           2, "missing uprn and bad postcode");
    is_int(rows, 1, "leading zeros are fine, 1 valid row");
    is_int(check(IMPORT_EXCEPTIONS,
                 "round_id,action,original_date,new_date,reason\n"
                 "*,moved,2026-12-28,2026-12-29,bank holiday\n"
                 "*,added,,2026-12-30,x\n"
                 "A,cancelled,2026-12-01,2026-12-02,x\n"
                 "A,moved,2026-12-01,2026-12-01,x\n"
                 "A,postponed,2026-12-01,2026-12-02,x\n",
                 &rows),
           4, "exception actions and dates");
    is_int(check(IMPORT_NOTICES,
                 "notice_id,scope,from,to,message\n"
                 "n,postcode:nr19 1,2026-01-01,2026-01-02,\"two\nlines\"\n"
                 "m,all,2026-01-02,2026-01-01,backwards\n",
                 &rows),
           1, "notice range");
    is_int(rows, 1, "multi-line message accepted");
    is_int(check(IMPORT_SERVICES,
                 "service_id,name,colour,spoken_name,subscription,link_url\n"
                 "garden,Garden waste,brown,brown bin,maybe,http://x\n",
                 &rows),
           2, "subscription yes/no and https link");
    is_int(check(IMPORT_ASSIGNMENTS, "", &rows), 1, "empty file");
    ok(strstr(last, "f.csv:1: empty file") != NULL, "empty file message");
    is_int(check(IMPORT_ASSIGNMENTS,
                 "uprn,service_id,round_id,valid_from,valid_to\n"
                 "1,refuse,A,2026-02-01,2026-01-01\n",
                 &rows),
           1, "valid_from after valid_to");
    return done_testing();
}
