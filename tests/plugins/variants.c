/* variants.c -- small plugins for test_plugin.c, one per -DTP_* variant:
 * a good one (two functions), and each way a plugin can be refused. */
#include <errno.h>
#include <memofs.h>

static int __attribute__((unused)) nop(memofs_ctx *ctx, const char *arg,
				       void *udata)
{
	return 0;
}

#if defined(TP_OK) || defined(TP_INIT_FAILS) || defined(TP_CLASH) || \
	defined(TP_NO_INIT)
MEMOFS_PLUGIN_DECLARE;
#elif defined(TP_OTHER_ABI)
const int memofs_plugin_abi = MEMOFS_ABI_VERSION + 1;
#endif

#ifndef TP_NO_INIT
int memofs_plugin_init(memofs_registry *reg, int abi_version)
{
	static const char *const list[] = { "x", "y", NULL };
	struct memofs_function f = { .name = "tp_one", .version = "3",
				     .description = "first",
				     .args = MEMOFS_ARGS_LIST,
				     .arg_list = list, .compute = nop };
	int rc;

	if (abi_version != MEMOFS_ABI_VERSION)
		return -EPROTO;
#ifdef TP_INIT_FAILS
	return -EPERM;
#endif
#ifdef TP_CLASH
	f.name = "taken";
#endif
	rc = memofs_register(reg, &f);
	f.name = "tp_two";
	f.args = MEMOFS_ARGS_COLUMNS;
	return rc ? rc : memofs_register(reg, &f);
}
#endif
