import HeadroomCore
import HeadroomTesting
import Testing

@Suite struct AmountTests {
    @Test(arguments: [
        ("1234.56", Int64(123_456)), ("0.01", 1), ("12.5", 1250), ("300", 30_000),
        ("50000.00", 5_000_000), ("100000000000.00", 10_000_000_000_000),
    ])
    func parsesExactly(text: String, fen: Int64) throws {
        #expect(try Amount(yuan: text).fen == fen)
    }

    @Test func refusesWhatIsNotExact() {
        #expect(throws: Amount.ParseError.tooManyDecimals("12.345")) { try Amount(yuan: "12.345") }
        #expect(throws: Amount.ParseError.notPositive("0.00")) { try Amount(yuan: "0.00") }
        #expect(throws: Amount.ParseError.empty) { try Amount(yuan: "") }
        for bad in ["-1.00", "+1.00", "1e3", "1,000.00", " 1.00", "1.", ".5", "1..2", "١٢", "0x10"] {
            #expect(throws: Amount.ParseError.self, "\(bad)") { try Amount(yuan: bad) }
        }
        #expect(throws: Amount.ParseError.tooLarge("100000000000.01")) { try Amount(yuan: "100000000000.01") }
        #expect(throws: Amount.ParseError.tooLarge("9999999999999")) { try Amount(yuan: "9999999999999") }
    }

    /// Leading zeros are refused as leading zeros, whatever the size (a padded field is a format
    /// to agree on, not "above the largest amount"); a single zero before the point is fine.
    @Test func refusesLeadingZeros() throws {
        #expect(throws: Amount.ParseError.leadingZeros("0000000000001.00")) { try Amount(yuan: "0000000000001.00") }
        #expect(throws: Amount.ParseError.leadingZeros("007")) { try Amount(yuan: "007") }
        #expect(throws: Amount.ParseError.leadingZeros("00.50")) { try Amount(yuan: "00.50") }
        #expect(Amount.ParseError.leadingZeros("0000000000001.00").description.contains("write it as \"1.00\""))
        #expect(Amount.ParseError.leadingZeros("00.50").description.contains("write it as \"0.50\""))
        #expect(try Amount(yuan: "0.50").fen == 50)
        #expect(try Amount(yuan: "10.00").fen == 1000)
        #expect(try Amount.parseFen("0", allowZero: true) == 0)
    }

    @Test func zeroOnlyWhereAllowed() throws {
        #expect(try Amount.parseFen("0", allowZero: true) == 0)
    }

    @Test func formatsForMachinesAndPeople() {
        #expect(Amount(fen: 123_456).plain == "1234.56")
        #expect(Amount(fen: 5).plain == "0.05")
        #expect(Amount(fen: 100_000_000).grouped == "1,000,000.00")
        #expect(Amount(fen: 99_999).grouped == "999.99")
        #expect(Amount.plain(-150) == "-1.50")
    }

    @Test func plainRoundTripsOnRandomAmounts() throws {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<2000 {
            let fen = Int64.random(in: 1...Amount.fenMax, using: &rng)
            #expect(try Amount(yuan: Amount(fen: fen).plain).fen == fen)
        }
    }
}
