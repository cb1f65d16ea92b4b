import Headroom
import HeadroomReplay
import HeadroomCore
import Testing

@Suite struct OperationDecoderTests {
    static let good = #"{"op":"authorize","id":"T1","time":"2026-11-25T10:00:00+08:00","card":"6222020200112233446","institution":"Z2007933000010","business":"gateway","amount":"1234.56","account_class":"II","channel":"h5","account_type":"corporate","agreement_id":"A1","merchant_id":"M1"}"#

    func failure(_ line: String) -> EventError? {
        do {
            _ = try OperationDecoder.decode(line)
            return nil
        } catch {
            return error
        }
    }

    @Test func decodesEveryField() throws {
        guard case .authorize(let p) = try OperationDecoder.decode(Self.good) else {
            Issue.record("not an authorization")
            return
        }
        #expect(p.id.text == "T1" && p.amount.fen == 123_456 && p.business == .gateway && p.accountClass == .classII)
        #expect(p.channel == .h5 && p.accountType == .corporate && p.agreementID == "A1" && p.merchantID == "M1")
        #expect(p.institution.code == "Z2007933000010" && p.card.masked == "622202*********3446")
        guard case .refund(let r) = try OperationDecoder.decode(#"{"op":"refund","id":"R","original":"T1","amount":"1.00","time":"2026-11-25T10:00:00Z"}"#) else {
            Issue.record("not a refund")
            return
        }
        #expect(r.original.text == "T1" && r.amount.fen == 100)
    }

    @Test(arguments: [
        ("card", "\"6222020200112233445\"", "check digit"),
        ("amount", "\"0\"", "not above zero"),
        ("amount", "1234.56", "must be a string"),
        ("business", "\"refundx\"", "is not one of"),
        ("account_class", "\"IV\"", "is not one of"),
        ("channel", "\"wap\"", "is not one of"),
        ("institution", "\"Z-1\"", "A-Z"),
        ("time", "\"2026-11-25T10:00:00\"", "missing UTC offset"),
        ("id", "\"\"", "empty"),
    ])
    func namesTheBadField(field: String, value: String, message: String) throws {
        let line = try #require(Self.good.replacing(try Regex("\"\(field)\":(\"[^\"]*\"|[0-9.]+)"), with: "\"\(field)\":\(value)", maxReplacements: 1) as String?)
        let error = try #require(failure(line), "\(line)")
        #expect(error.field == field && error.message.contains(message), "\(error)")
        #expect(!error.description.contains("6222020200112233445"))
    }

    @Test func refusesUnknownAndMissingFieldsAndNonObjects() {
        #expect(failure(#"{"op":"confirm","id":"T1","amount":"1.00"}"#)?.field == "amount")
        #expect(failure(#"{"op":"confirm"}"#)?.field == "id")
        #expect(failure(#"{"op":"cancel","id":"T1"}"#)?.field == "op")
        #expect(failure(#"["op"]"#)?.message == "not a JSON object")
        #expect(failure("{").map { $0.message.hasPrefix("not a JSON object") } == true)
        #expect(failure(#"{"op":"refund","id":"R","original":"T1","time":"2026-11-25T10:00:00Z"}"#)?.field == "amount")
    }

    /// A key twice: the JSON reader would keep the last ("amount" 50.00, then 15000.00,
    /// reserves 15,000.00). Refused, naming the key; keys inside strings do not count.
    @Test func refusesAKeyTwice() {
        let twice = Self.good.replacingOccurrences(of: #""amount":"1234.56""#, with: #""amount":"50.00","amount":"15000.00""#)
        let error = failure(twice)
        #expect(error?.field == "amount" && error?.message == "appears twice in the line", "\(String(describing: error))")
        #expect(failure(#"{"op":"confirm","id":"T1","id":"T2"}"#)?.field == "id")
        #expect(failure(#"{"op":"confirm","id":"a\"id\":b"}"#) == nil)
        #expect(failure(Self.good.replacingOccurrences(of: #""amount":"1234.56""#, with: #""amount":"0001.00""#))?.message.contains("leading zeros") == true)
    }
}

@Suite struct CardLimitLineTests {
    /// Card-limit lines: the operator comes from the replay, never from the line; every field
    /// checked like a payment's.
    @Test func cardLimitLinesDecodeWithTheReplaysOperator() throws {
        let line = #"{"op":"set-card-limits","card":"6222020200112233446","institution":"Z1","daily_amount":"500.00","daily_count":3}"#
        guard case .setCardLimits(let change) = try OperationDecoder.decode(line, operatorName: "alice") else {
            Issue.record("not a card-limit change")
            return
        }
        #expect(change.by == "alice" && change.institution?.code == "Z1" && change.card.masked == "622202*********3446")
        #expect(change.limits == CardLimits(dailyAmountFenMax: 50_000, dailyCountMax: 3))
        guard case .clearCardLimits(_, nil, "bob") = try OperationDecoder.decode(#"{"op":"clear-card-limits","card":"6222020200112233446"}"#, operatorName: "bob") else {
            Issue.record("not a clear")
            return
        }
        let refused: [(String, String?, String?)] = [
            (line, nil, nil),  // no operator
            (#"{"op":"set-card-limits","card":"6222020200112233446"}"#, "alice", nil),
            (#"{"op":"set-card-limits","card":"6222020200112233446","daily_count":true}"#, "alice", "daily_count"),
            (#"{"op":"set-card-limits","card":"6222020200112233446","daily_count":-1}"#, "alice", "daily_count"),
            (#"{"op":"set-card-limits","card":"6222020200112233446","daily_count":2.5}"#, "alice", "daily_count"),
            (#"{"op":"set-card-limits","card":"6222020200112233446","daily_amount":500}"#, "alice", "daily_amount"),
            (#"{"op":"set-card-limits","card":"6222020200112233447","daily_amount":"5.00"}"#, "alice", "card"),
            (#"{"op":"set-card-limits","card":"6222020200112233446","by":"mallory","daily_amount":"5.00"}"#, "alice", "by"),
        ]
        for (text, name, field) in refused {
            do {
                _ = try OperationDecoder.decode(text, operatorName: name)
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.field == field, "\(text): \(error)")
            }
        }
    }
}
