// Measures how fast this machine streams memory into the cores: the bound decode runs against.
#pragma once
#include <cstddef>

namespace ls {

// Best of `sweeps` read-only passes over a fresh `bytes`-long buffer, each pass split across
// `threads` threads; bytes per second. Allocation failure throws std::bad_alloc.
double memory_read_bandwidth(size_t bytes, int threads, int sweeps);

}  // namespace ls
