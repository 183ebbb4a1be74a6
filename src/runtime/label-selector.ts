// Kubernetes label selectors as list and watch take them (`labelSelector=`): checked here with the
// grammar of apimachinery's labels.Parse (pkg/labels/selector.go), so that a mistyped
// --watch-label-selector stops start-up with a message, instead of every list answering 400 and
// the informers retrying for ever. The selector is sent to the API server as written; this module
// only judges it.

/** One requirement of a selector: `key`, `!key`, `key=v`, `key!=v`, `key in (a,b)`, `key notin (a,b)`, `key>n`, `key<n`. */
export interface LabelRequirement {
  key: string;
  operator: 'exists' | '!' | '=' | '!=' | 'in' | 'notin' | '>' | '<';
  values: string[];
}

export class LabelSelectorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LabelSelectorError';
  }
}

// validation.IsQualifiedName: an optional DNS-subdomain prefix and a slash, then a name of at most
// 63 characters that starts and ends with an alphanumeric.
const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function keyProblem(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length > 2) return `key "${key}" has more than one "/"`;
  const name = parts.length === 2 ? parts[1]! : parts[0]!;
  if (parts.length === 2) {
    const prefix = parts[0]!;
    if (!prefix) return `key "${key}" has an empty prefix before "/"`;
    if (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)) return `key "${key}": the prefix must be a DNS subdomain (lower case, at most 253 characters)`;
  }
  if (!name) return `key "${key}" has no name`;
  if (name.length > 63 || !NAME.test(name)) return `key "${key}": the name must be at most 63 characters, alphanumerics, "-", "_" or ".", starting and ending with an alphanumeric`;
  return undefined;
}

function valueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63 || !NAME.test(value)) return `value "${value}" must be at most 63 characters, alphanumerics, "-", "_" or ".", starting and ending with an alphanumeric (or empty)`;
  return undefined;
}

// The lexer's tokens, as apimachinery's: identifiers end at whitespace or one of the special characters.
type Token = { kind: 'id'; text: string } | { kind: 'op'; text: '!' | '=' | '==' | '!=' | '>' | '<' | '(' | ')' | ',' };

function lex(selector: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < selector.length) {
    const c = selector[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const two = selector.slice(i, i + 2);
    if (two === '==' || two === '!=') {
      tokens.push({ kind: 'op', text: two });
      i += 2;
      continue;
    }
    if ('!=><(),'.includes(c)) {
      tokens.push({ kind: 'op', text: c as '!' | '=' | '>' | '<' | '(' | ')' | ',' });
      i++;
      continue;
    }
    let j = i;
    while (j < selector.length && !/\s/.test(selector[j]!) && !'!=><(),'.includes(selector[j]!)) j++;
    tokens.push({ kind: 'id', text: selector.slice(i, j) });
    i = j;
  }
  return tokens;
}

/**
 * The requirements of a selector (an empty selector selects everything: none), or a
 * LabelSelectorError saying what is wrong where.
 */
export function parseLabelSelector(selector: string): LabelRequirement[] {
  const tokens = lex(selector);
  const requirements: LabelRequirement[] = [];
  let at = 0;
  const peek = () => tokens[at];
  const fail = (why: string): never => {
    throw new LabelSelectorError(why);
  };
  const describe = (t: Token | undefined) => (t ? `"${t.text}"` : 'the end');
  const identifier = (what: string): string => {
    const t = tokens[at];
    if (t?.kind !== 'id') return fail(`expected ${what}, found ${describe(t)}`);
    at++;
    return t.text;
  };
  const value = (): string => {
    // A value may be empty (`key=`, `key in (a,)`): the next token is then a comma, a
    // parenthesis or the end.
    const t = tokens[at];
    if (t?.kind === 'id') {
      at++;
      const problem = valueProblem(t.text);
      if (problem) fail(problem);
      return t.text;
    }
    return '';
  };

  if (tokens.length === 0) return requirements;
  for (;;) {
    let requirement: LabelRequirement;
    const first = peek();
    if (first?.kind === 'op' && first.text === '!') {
      at++;
      const key = identifier('a key after "!"');
      const problem = keyProblem(key);
      if (problem) fail(problem);
      requirement = { key, operator: '!', values: [] };
    } else {
      const key = identifier('a key');
      const problem = keyProblem(key);
      if (problem) fail(problem);
      const next = peek();
      if (!next || (next.kind === 'op' && next.text === ',')) {
        requirement = { key, operator: 'exists', values: [] };
      } else if (next.kind === 'op' && (next.text === '=' || next.text === '==' || next.text === '!=')) {
        at++;
        requirement = { key, operator: next.text === '!=' ? '!=' : '=', values: [value()] };
      } else if (next.kind === 'op' && (next.text === '>' || next.text === '<')) {
        at++;
        const n = identifier(`a whole number after "${next.text}"`);
        if (!/^-?\d+$/.test(n)) fail(`"${key}${next.text}${n}": "${next.text}" takes a whole number`);
        requirement = { key, operator: next.text, values: [n] };
      } else if (next.kind === 'id' && (next.text === 'in' || next.text === 'notin')) {
        at++;
        const open = tokens[at];
        if (open?.kind !== 'op' || open.text !== '(') fail(`expected "(" after "${key} ${next.text}", found ${describe(open)}`);
        at++;
        const values = [value()];
        while (tokens[at]?.kind === 'op' && tokens[at]!.text === ',') {
          at++;
          values.push(value());
        }
        const close = tokens[at];
        if (close?.kind !== 'op' || close.text !== ')') fail(`expected "," or ")" in the values of "${key} ${next.text}", found ${describe(close)}`);
        at++;
        // apimachinery: `in ()` is an empty set, which it refuses.
        if (values.length === 1 && values[0] === '') fail(`"${key} ${next.text} ()": the set of values cannot be empty`);
        requirement = { key, operator: next.text, values };
      } else {
        return fail(`expected "=", "==", "!=", "in", "notin", ">", "<", "," or the end after "${key}", found ${describe(next)}`);
      }
    }
    requirements.push(requirement);
    const after = tokens[at];
    if (!after) return requirements;
    if (after.kind !== 'op' || after.text !== ',') fail(`expected "," or the end after a requirement, found ${describe(after)}`);
    at++;
    if (!tokens[at]) fail('the selector ends with ","');
  }
}
