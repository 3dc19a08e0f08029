// Chat templates rendered with @huggingface/jinja: MiniCPM4's own template, the BOS/EOS
// variables, a template read from a GGUF file, and errors for broken templates.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { ChatTemplate, loadChatTemplate } from '../../dist/engine/chat-template.js';
import { Tokenizer } from '../../dist/engine/tokenizer.js';

const minicpmTemplate = JSON.parse(readFileSync('/work/shared/models/minicpm4-0.5b/tokenizer_config.json', 'utf8')).chat_template;

test('MiniCPM4 template: system + user with a generation prompt is ChatML', () => {
  const template = new ChatTemplate(minicpmTemplate, { bosToken: '<s>', eosToken: '<|im_end|>' });
  const messages = [
    { role: 'system', content: 'You write literature surveys.' },
    { role: 'user', content: 'List three papers on dense retrieval.' },
  ];
  assert.equal(
    template.render(messages),
    '<|im_start|>system\nYou write literature surveys.<|im_end|>\n' +
      '<|im_start|>user\nList three papers on dense retrieval.<|im_end|>\n' +
      '<|im_start|>assistant\n',
  );
  assert.equal(
    template.render(messages.slice(1), { addGenerationPrompt: false }),
    '<|im_start|>user\nList three papers on dense retrieval.<|im_end|>\n',
  );
});

test('bos_token, eos_token and extra variables reach the template', () => {
  const template = new ChatTemplate(
    "{{ bos_token }}{% for m in messages %}[{{ m['role'] }}] {{ m.content }}{{ eos_token }}{% endfor %}{{ suffix }}",
    { bosToken: '<s>', eosToken: '</s>' },
  );
  assert.equal(template.render([{ role: 'user', content: 'hi' }], { variables: { suffix: '!' } }), '<s>[user] hi</s>!');
});

test('the Phi-3 template stored in a GGUF file renders with that vocabulary\'s BOS/EOS texts', () => {
  const path = '/work/shared/vocab/ggml-vocab-phi-3.gguf';
  const template = loadChatTemplate(path, Tokenizer.load(path));
  assert.ok(template);
  const out = template.render([{ role: 'user', content: 'Hello' }]);
  assert.ok(out.startsWith('<s><|user|>\nHello<|end|>\n<|assistant|>\n'), JSON.stringify(out));
  assert.equal(loadChatTemplate('/work/shared/vocab/ggml-vocab-gpt-2.gguf', Tokenizer.load('/work/shared/vocab/ggml-vocab-gpt-2.gguf')), null);
});

test('a broken template is a clear error, at parse or at render time', () => {
  assert.throws(() => new ChatTemplate('{% for m in messages %}{{ m.content }'), /^Error: invalid chat template: /);
  const raising = new ChatTemplate("{% if messages[0]['role'] != 'user' %}{{ raise_exception('first message must be from the user') }}{% endif %}");
  assert.throws(() => raising.render([{ role: 'system', content: 'x' }]), /chat template failed to render: first message must be from the user/);
  assert.equal(raising.render([{ role: 'user', content: 'x' }]), '');
});
