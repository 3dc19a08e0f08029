// JS → C++ conversions for sampling options, shared by the test bindings (sampler_napi.cpp) and
// the generate binding. Both throw Napi::TypeError / Napi::Error naming the offending field.
#pragma once
#include <napi.h>

#include <memory>

#include "json_constraint.h"
#include "sampler.h"

namespace ls::napi {

// Reads the known fields of a JS options object (others are ignored, so a generate-options
// object can be passed as is): temperature, topK, topP, minP, repeatPenalty, repeatLastN,
// frequencyPenalty, presencePenalty (numbers) and seed (non-negative safe integer or BigInt).
// Missing fields keep the SamplerParams defaults. Validates the result.
SamplerParams sampler_params_from_js(Napi::Env env, Napi::Value options);

// A schema given as a JSON string or a plain object (serialised with JSON.stringify);
// undefined/null → JsonSchema::any().
std::shared_ptr<const JsonSchema> json_schema_from_js(Napi::Env env, Napi::Value schema);

}  // namespace ls::napi
