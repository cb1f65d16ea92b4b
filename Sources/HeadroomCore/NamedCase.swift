/// An enum whose cases have a written name (in rule files, replay lines, answers): its `name`
/// is the one table of them, and reading a name back and describing a case come from it.
public protocol NamedCase: CaseIterable, CustomStringConvertible {
    /// The name rule files, replay lines and answers write for this case.
    var name: String { get }
}

extension NamedCase {
    /// The case written `name`; `nil` for a name no case has.
    public init?(name: String) {
        guard let found = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = found
    }

    public var description: String { name }
}
