#include <vector>

#include "napi/registry.h"

namespace ls::napi {

namespace {
struct Entry {
  const char* name;
  InitFn fn;
};
// Function-local static: safe to use from other files' static initialisers.
std::vector<Entry>& entries() {
  static std::vector<Entry> list;
  return list;
}
}  // namespace

Registrar::Registrar(const char* name, InitFn fn) { entries().push_back({name, fn}); }

void init_all(Napi::Env env, Napi::Object exports) {
  for (const Entry& e : entries()) e.fn(env, exports);
}

}  // namespace ls::napi

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  ls::napi::init_all(env, exports);
  return exports;
}

NODE_API_MODULE(litsurvey_engine, Init)
