import Foundation
import HeadroomCore

/// One rule file's name and text, as read from disk or from the store.
public struct RuleSource: Hashable, Sendable {
    /// The name shown in messages, e.g. `Rules/bank.yaml`.
    public let name: String
    /// The file's text.
    public let text: String

    /// A rule file named `name` holding `text` (rule files read from elsewhere than a directory).
    public init(name: String, text: String) {
        self.name = name
        self.text = text
    }

    /// Whether a file name is a rule file's: `*.yaml` or `*.yml`, in any case (`bank.YAML` is
    /// what its author meant as a rule file too), and not hidden.
    public static func isRuleFile(_ name: String) -> Bool {
        let lower = name.lowercased()
        return !name.hasPrefix(".") && (lower.hasSuffix(".yaml") || lower.hasSuffix(".yml"))
    }

    /// Reads every rule file (``isRuleFile(_:)``) of `directory`, sorted by name.
    public static func read(directory: String) throws(RuleErrors) -> [RuleSource] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            throw RuleErrors([RuleProblem(file: directory, line: 0, field: "", message: "no such directory")])
        }
        guard isDirectory.boolValue else {
            throw RuleErrors([RuleProblem(file: directory, line: 0, field: "", message: "is a file, not a directory of rule files")])
        }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
                .filter(isRuleFile)
                .sorted()
        } catch {
            throw RuleErrors([RuleProblem(file: directory, line: 0, field: "", message: "cannot read the directory: \(fileErrorReason(error))")])
        }
        if names.isEmpty {
            throw RuleErrors([RuleProblem(file: directory, line: 0, field: "", message: "holds no rule files (*.yaml)")])
        }
        var sources: [RuleSource] = []
        var problems: [RuleProblem] = []
        let base = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        for name in names {
            let path = "\(base)/\(name)"
            guard let data = FileManager.default.contents(atPath: path) else {
                problems.append(RuleProblem(file: path, line: 0, field: "", message: "cannot be read"))
                continue
            }
            guard let text = String(data: data, encoding: .utf8) else {
                problems.append(RuleProblem(file: path, line: 0, field: "", message: "is not UTF-8 text"))
                continue
            }
            sources.append(RuleSource(name: path, text: text))
        }
        if !problems.isEmpty { throw RuleErrors(problems) }
        return sources
    }
}

extension Array where Element == RuleSource {
    /// A stable fingerprint of the files' names (without directories) and texts: equal
    /// fingerprints mean the same rules.
    public var digest: UInt64 {
        var h = FNV1a()
        for source in self {
            h.add(String(source.name.split(separator: "/").last ?? ""))
            h.add(source.text)
        }
        return h.value
    }
}

/// Why a file operation failed, in words ("No such file or directory"), not Foundation's
/// "The operation could not be completed. (NSCocoaErrorDomain error 256.)".
public func fileErrorReason(_ error: Error) -> String {
    let ns = error as NSError
    if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
    if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
        return String(cString: strerror(Int32(underlying.code)))
    }
    switch CocoaError.Code(rawValue: ns.code) {
    case .fileReadNoSuchFile, .fileNoSuchFile: return "No such file or directory"
    case .fileReadNoPermission, .fileWriteNoPermission: return "Permission denied"
    case .fileWriteOutOfSpace: return "no space left on device"
    case .fileWriteFileExists: return "File exists"
    case .fileReadCorruptFile where ns.domain == NSCocoaErrorDomain, .fileReadUnknown where ns.domain == NSCocoaErrorDomain: return "cannot be read (missing, not a directory, or not readable)"
    default: return ns.localizedDescription
    }
}
