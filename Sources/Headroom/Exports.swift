// `import Headroom` is enough to use the engine: the domain's types (amounts, payments, limits,
// decisions) and the rule files' reader come with it.
@_exported import HeadroomCore
@_exported import HeadroomRules
