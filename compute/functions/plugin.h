/* plugin.h -- loading C plugins (shared objects) into the registry.
 *
 * A plugin is checked (it exists, declares MEMOFS_ABI_VERSION, exports
 * memofs_plugin_init), then its entry point registers its functions.  Each
 * function's version gets "+" and the XXH3-64 of the plugin file's bytes
 * appended, so a rebuilt plugin gets fresh cache keys.  Called at start-up
 * only, from one thread.
 */
#ifndef MEMOFS_PLUGIN_H
#define MEMOFS_PLUGIN_H

#include <stddef.h>

#include "functions/reg.h"

typedef struct plugin plugin;

/* Loads the plugin at path into r.  Returns 0 and *out (free with
 * plugin_free() after the registry is done with its functions), or a
 * negative errno and a one-line message in err:
 *   -ENOENT  no such file;   -ENOEXEC  not a loadable shared object;
 *   -EPROTO  no ABI declaration or another ABI version;
 *   -ENOSYS  no memofs_plugin_init;   -EEXIST  a function name is taken;
 *   other    the entry point's own error. */
int plugin_load(reg *r, const char *path, plugin **out, char *err,
		size_t errlen);
void plugin_free(plugin *p);	/* plugin_free(NULL) is a no-op */

#endif
