// Each binding file registers its exports with a static Registrar, so adding a
// file to native/src never means editing a central list.
#pragma once
#include <napi.h>

namespace ls::napi {

using InitFn = void (*)(Napi::Env env, Napi::Object exports);

struct Registrar {
  Registrar(const char* name, InitFn fn);
};

void init_all(Napi::Env env, Napi::Object exports);

}  // namespace ls::napi
