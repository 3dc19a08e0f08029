// Logits parity with llama.cpp for minicpm in every weight type, plus LongRoPE factors
// (rope_freqs.weight) and tied embeddings.
import { parityTests } from './parity-cases.js';

parityTests('minicpm', [{}, { ropeFactors: true }, { tied: true }]);
