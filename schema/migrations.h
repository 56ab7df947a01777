/* schema/migrations.h - ordered schema migrations (internal to schema/). */
#ifndef LK_SCHEMA_MIGRATIONS_H
#define LK_SCHEMA_MIGRATIONS_H
extern const char *const lk_migrations[];
extern const int lk_n_migrations;
#endif
