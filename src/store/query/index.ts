// The query engine in one import: parse, evaluate in memory, aggregate, and the word rule.

export type { BuiltinField, FieldRef, Node, Pipe, Query, QueryErrorInfo, Scalar } from './ast.js';
export { QueryError, isQueryError } from './error.js';
export { MAX_DEPTH, MAX_LIMIT, MAX_QUERY_LENGTH, MAX_STATS_FIELDS, MAX_TOP, fieldName, parseQuery } from './parse.js';
export { MAX_REGEX_LENGTH } from './lexer.js';
export { compareCodePoints, compareValue, compileMatcher, equalsValue, fieldValue, groupValue, matchAll, matchWildcard } from './match.js';
export { aggregates, applyPipes, compareGroupValue, runQuery, type PipeResult } from './pipes.js';
export { checkRegex, compileRegex, linearRegexEngine } from './regex.js';
export { foldCodePoint, foldText, isWordCodePoint, words } from './words.js';
