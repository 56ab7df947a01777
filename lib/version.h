/* lib/version.h - the version of this build of lrokit.
 *
 * lk_version is `git describe --always --dirty` when the build ran (0.1
 * outside a git checkout). It lives in one generated file,
 * $(BUILD)/gen/version.c, which the Makefile rewrites whenever the string
 * changes, so every user of it (--version, the runs' tool_version, the
 * report) names the build that made the binary, never the version an
 * object happened to be compiled at. */
#ifndef LK_VERSION_H
#define LK_VERSION_H

extern const char lk_version[];

#endif
