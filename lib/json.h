/* lib/json.h - small helpers for writing JSON to a FILE (the CLI's stdout). */
#ifndef LK_JSON_H
#define LK_JSON_H

#include <stdio.h>

/* Write s as a JSON string literal (quotes, escapes, control chars as \uXXXX). */
void lk_json_str(FILE *f, const char *s);
/* Write s as a JSON string literal, or null when s is NULL. */
void lk_json_str_or_null(FILE *f, const char *s);
/* Write a double; non-finite values become null. */
void lk_json_num(FILE *f, double v);

#endif
