// Logits parity with llama.cpp for qwen3 (per-head q/k RMSNorm, NeoX RoPE) in every weight type.
import { parityTests } from './parity-cases.js';

parityTests('qwen3');
