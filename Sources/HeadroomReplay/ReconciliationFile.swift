import Foundation
import Headroom

/// The lines of a reconciliation file as `headroom reconcile` reads them (docs/reconciliation.md):
/// one transaction a line, fields separated by `|`, in NetsUnion's detail order:
///
///     batch|id|time|institution|amount|status[|card|business|account_class[|channel[|account_type]]]
///
/// Blank lines and lines starting with `#` are skipped. The last fields are given only for a
/// transaction the bank may never have seen, to count it.
public enum ReconciliationFile {
    public static let fields = ["batch", "id", "time", "institution", "amount", "status",
                                "card", "business", "account_class", "channel", "account_type"]

    /// A line's transaction; `nil` for a blank or comment line.
    public static func decode(_ line: String) throws(EventError) -> ReconciliationLine? {
        let text = line.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.isEmpty || text.hasPrefix("#") { return nil }
        let parts = text.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 6 || (parts.count >= 9 && parts.count <= 11) else {
            throw EventError(op: "reconcile", id: parts.count >= 6 ? parts[1] : nil, field: nil,
                             message: "has \(parts.count) fields separated by |; a line has 6 (\(fields.prefix(6).joined(separator: "|"))), or 9 to 11 with the payment's card, business, account_class, channel and account_type")
        }
        var object: [String: Any] = ["op": "reconcile"]
        for (name, value) in zip(fields, parts) where !value.isEmpty { object[name] = value }
        // The same checks as a replay line's, field by field.
        guard case .reconcile(let decoded) = try OperationDecoder.decode(fields: object) else {
            preconditionFailure("a reconcile object decodes to a reconcile operation")
        }
        return decoded
    }
}
