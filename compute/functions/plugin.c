/* plugin.c -- loading C plugins into the registry (see plugin.h). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "functions/plugin.h"
#include "util/file.h"

struct plugin {
	void *handle;		/* from dlopen(), closed by plugin_free() */
};

/* Checks the ABI declaration and finds the entry point. */
static int plugin_resolve(void *handle, const char *path,
			  memofs_plugin_init_fn *init, char *err,
			  size_t errlen)
{
	const int *abi = dlsym(handle, MEMOFS_PLUGIN_ABI);

	if (!abi) {
		snprintf(err, errlen, "plugin %s: no %s symbol (declare it "
			 "with MEMOFS_PLUGIN_DECLARE)", path, MEMOFS_PLUGIN_ABI);
		return -EPROTO;
	}
	if (*abi < MEMOFS_ABI_MIN || *abi > MEMOFS_ABI_VERSION) {
		snprintf(err, errlen, "plugin %s: built for memofs ABI %d, "
			 "this memofs loads ABI %d to %d", path, *abi,
			 MEMOFS_ABI_MIN, MEMOFS_ABI_VERSION);
		return -EPROTO;
	}
	*(void **)init = dlsym(handle, MEMOFS_PLUGIN_INIT);
	if (!*init) {
		snprintf(err, errlen, "plugin %s: no %s function", path,
			 MEMOFS_PLUGIN_INIT);
		return -ENOSYS;
	}
	return 0;
}

static int plugin_register(reg *r, const char *path, const char *hex,
			   memofs_plugin_init_fn init, char *err,
			   size_t errlen)
{
	int rc = reg_set_suffix(r, hex);

	if (rc == 0)
		rc = init(r, MEMOFS_ABI_VERSION);
	reg_set_suffix(r, NULL);
	if (rc == -EEXIST && reg_last_clash(r))
		snprintf(err, errlen, "plugin %s: function '%s' is already "
			 "registered", path, reg_last_clash(r));
	else if (rc)
		snprintf(err, errlen, "plugin %s: %s failed: %s", path,
			 MEMOFS_PLUGIN_INIT, strerror(rc < 0 ? -rc : rc));
	return rc < 0 ? rc : (rc ? -EINVAL : 0);
}

int plugin_load(reg *r, const char *path, plugin **out, char *err,
		size_t errlen)
{
	char hex[17], local[4096];
	memofs_plugin_init_fn init;
	plugin *p;
	int rc = util_file_hash64_hex(path, hex);

	if (rc) {
		snprintf(err, errlen, "plugin %s: %s", path, strerror(-rc));
		return rc;
	}
	/* dlopen() searches the library path for a name without a '/'. */
	snprintf(local, sizeof(local), "%s%s", strchr(path, '/') ? "" : "./",
		 path);
	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "plugin %s: %s", path, strerror(ENOMEM));
		return -ENOMEM;
	}
	p->handle = dlopen(local, RTLD_NOW | RTLD_LOCAL);
	if (!p->handle) {
		snprintf(err, errlen, "plugin %s: cannot load: %s", path,
			 dlerror());
		rc = -ENOEXEC;
		goto out_free;
	}
	rc = plugin_resolve(p->handle, path, &init, err, errlen);
	if (rc == 0)
		rc = plugin_register(r, path, hex, init, err, errlen);
	if (rc)
		goto out_close;
	*out = p;
	return 0;

out_close:
	dlclose(p->handle);
out_free:
	free(p);
	return rc;
}

void plugin_free(plugin *p)
{
	if (!p)
		return;
	dlclose(p->handle);
	free(p);
}
