/** qlib's expression engine: parse, evaluate (single and batch), cache. */
export { parseExpression } from './parse.ts';
export { canonical, type ExprNode, type CallNode, type FieldNode, type NumberNode, type StringNode } from './ast.ts';
export { ExpressionError, type ExpressionErrorCode } from './errors.ts';
export { evaluate, evaluateMany, evaluateEach, type EvaluateOptions, type EvaluateManyOptions, type FieldExtentSource, QLIB_CONVENTIONAL_FIELDS } from './evaluate.ts';
export { ExpressionCache, type ExpressionCacheOptions, type ExpressionCacheStats } from './cache.ts';
export { resolveOptions, type ExprOptions, type ResolvedOptions } from './options.ts';
export { OPERATORS, type OperatorSpec, type ArgKind, type OpFamily } from './operators.ts';
