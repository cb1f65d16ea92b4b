import Foundation
@testable import Headroom
import HeadroomCore
import HeadroomRules
@_exported import HeadroomTesting
import Testing

enum Fixture {
    static let cardKey = try! CardKey(hex: String(repeating: "5a", count: 32))

    /// The repository's Rules/ directory.
    static let shippedRulesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Rules").path

    static func shippedRules() throws -> [RuleSource] {
        try RuleSource.read(directory: shippedRulesDirectory)
    }

    static func directory(_ name: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("headroom-\(name)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func engine(_ path: String, rules: [RuleSource]? = nil, key: CardKey = cardKey) throws -> Engine {
        try Engine(path: path, cardKey: key, rules: rules, options: .init(mapSizeBytes: 64 << 20))
    }

    /// A valid card number (Luhn).
    static func pan(_ n: Int) -> String { TestCards.number(n, issuer: "622202") }

    static func request(_ id: String, _ time: String, card: Int = 1, institution: String = "Z2007933000010",
                        business: Business = .agreement, amount: String, accountClass: AccountClass = .classI,
                        channel: Channel? = nil) throws -> PaymentRequest {
        PaymentRequest(id: try PaymentID(id), time: try Timestamp(iso8601: time), card: try CardNumber(pan(card)),
                       institution: try Institution(institution), business: business, amount: try Amount(yuan: amount),
                       accountClass: accountClass, channel: channel)
    }
}

/// Expects `body` to throw a HeadroomError with `code`.
func expectError(_ code: HeadroomError.Code, sourceLocation: Testing.SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected \(code), nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as HeadroomError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(code), got \(error)", sourceLocation: sourceLocation)
    }
}
