#ifndef TSRUN_PIDFD_H
#define TSRUN_PIDFD_H
#include <node_api.h>
/* Adds pidfdOpen and pidfdSignal to exports. */
napi_status pidfd_register(napi_env env, napi_value exports);
#endif
