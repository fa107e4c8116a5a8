/* test_postcode.c - UK postcode normalisation, validation and prefixes. */
#include <string.h>

#include "binday/data/postcode.h"
#include "tap.h"

static const char *norm(const char *in)
{
    static char out[POSTCODE_MAX];
    if (postcode_normalize((const uint8_t *)in, strlen(in), out) < 0)
        return "INVALID";
    return out;
}

int main(void)
{
    is_str(norm("NR19 1EE"), "NR19 1EE", "already normal");
    is_str(norm("nr191ee"), "NR19 1EE", "lowercase, no space");
    is_str(norm(" nr19  1ee "), "NR19 1EE", "extra spaces");
    is_str(norm("ip24-1ab"), "IP24 1AB", "hyphen");
    is_str(norm("PE37 7AB"), "PE37 7AB", "PE37");
    is_str(norm("sw1a2aa"), "SW1A 2AA", "AA9A");
    is_str(norm("W1A 1AA"), "W1A 1AA", "A9A");
    is_str(norm("M1 1AE"), "M1 1AE", "A9");
    is_str(norm("B33 8TH"), "B33 8TH", "A99");
    is_str(norm("CR2 6XH"), "CR2 6XH", "AA9");
    is_str(norm("20146"), "INVALID", "US ZIP");
    is_str(norm("NR19"), "INVALID", "outward only");
    is_str(norm("NR19 1E"), "INVALID", "short inward");
    is_str(norm("1R19 1EE"), "INVALID", "digit first");
    is_str(norm("NR19 EE1"), "INVALID", "inward shape");
    is_str(norm("NR199 1EE"), "INVALID", "outward too long");
    is_str(norm("NR19 1EE;DROP"), "INVALID", "junk");
    is_str(norm(""), "INVALID", "empty");
    is_str(norm("N\xC3\xA9" "19 1EE"), "INVALID", "non-ASCII");
    is_int(postcode_outward_len("NR19 1EE"), 4, "outward length");
    ok(postcode_in_prefix("NR19 1EE", "NR19", 4), "outward prefix");
    ok(!postcode_in_prefix("NR19 1EE", "NR1", 3), "NR1 does not cover NR19");
    ok(postcode_in_prefix("NR1 1AA", "NR1", 3), "NR1 covers NR1 1AA");
    ok(postcode_in_prefix("NR19 1EE", "NR19 1", 6), "sector prefix");
    ok(!postcode_in_prefix("NR19 2EE", "NR19 1", 6), "other sector");
    ok(postcode_in_prefix("NR19 1EE", "NR19 1EE", 8), "whole postcode");
    return done_testing();
}
