// Logits parity with llama.cpp for qwen2 (q/k/v biases, NeoX RoPE) in every weight type.
import { parityTests } from './parity-cases.js';

parityTests('qwen2');
