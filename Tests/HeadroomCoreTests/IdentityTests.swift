import HeadroomCore
import HeadroomTesting
import Testing

@Suite struct IdentityTests {
    @Test func cardNumbersAreLuhnChecked() throws {
        _ = try CardNumber("6222020200112233446")
        _ = try CardNumber("4111111111111111")
        #expect(throws: CardNumber.ParseError.failsLuhnCheck) { try CardNumber("4111111111111112") }
        #expect(throws: CardNumber.ParseError.wrongLength(15)) { try CardNumber("411111111111111") }
        #expect(throws: CardNumber.ParseError.wrongLength(20)) { try CardNumber("41111111111111111111") }
        #expect(throws: CardNumber.ParseError.notDigits) { try CardNumber("4111 1111 1111 1111") }
    }

    @Test func cardNumbersNeverShowInClear() throws {
        let card = try CardNumber("6222020200112233446")
        #expect(card.masked == "622202*********3446")
        #expect("\(card)" == card.masked)
        #expect(String(reflecting: card).contains("6222020200112233446") == false)
        var dumped = ""
        dump(card, to: &dumped)
        #expect(dumped.contains("0200112233") == false)
        #expect(throws: CardNumber.ParseError.failsLuhnCheck) { try CardNumber("6222020200112233445") }
        let error = CardNumber.ParseError.failsLuhnCheck
        #expect(!error.description.contains("622202"))
    }

    @Test func institutionsPackIntoSixteenBytes() throws {
        let z = try Institution("Z2007933000010")
        #expect(z.code == "Z2007933000010")
        #expect(try Institution("A").code == "A")
        #expect(try Institution("ABCDEFGHIJKLMNOP").code == "ABCDEFGHIJKLMNOP")
        #expect(throws: Institution.ParseError.self) { try Institution("ABCDEFGHIJKLMNOPQ") }
        #expect(throws: Institution.ParseError.self) { try Institution("Z-1") }
        #expect(throws: Institution.ParseError.empty) { try Institution("") }
    }

    @Test func paymentIDs() throws {
        #expect(try PaymentID("N2026112510000001").text == "N2026112510000001")
        #expect(throws: PaymentID.ParseError.empty) { try PaymentID("") }
        #expect(throws: PaymentID.ParseError.tooLong(65)) { try PaymentID(String(repeating: "x", count: 65)) }
        #expect(throws: PaymentID.ParseError.badCharacter) { try PaymentID("a b") }
    }

    @Test func counterKeysRoundTripAndSortByCardThenWindow() throws {
        var rng = SplitMix64(seed: 3)
        var keys: [CounterKey] = []
        for _ in 0..<500 {
            let key = CounterKey(
                kind: [.day, .month, .year, .minuteBucket, .hourBucket].randomElement(using: &rng)!,
                definition: rng.next() % 4, card: CardHash(high: rng.next() % 3, low: rng.next() % 2),
                institution: try Institution(String(rng.next() % 1_000_000)), window: UInt32.random(in: 0...UInt32.max, using: &rng))
            let back = key.withBytes { CounterKey(bytes: $0) }
            #expect(back == key)
            keys.append(key)
        }
        // Sorted as LMDB sorts them (bytes), keys go by card, then kind, then window: every cell
        // of one card lies in one run, and within it the cells of one window (decision 0011).
        let sorted = keys.sorted { a, b in a.withBytes { x in b.withBytes { y in x.lexicographicallyPrecedes(y) } } }
        let order = { (k: CounterKey) in [k.card.high, k.card.low, UInt64(k.kind.rawValue), UInt64(k.window)] }
        for (a, b) in zip(sorted, sorted.dropFirst()) {
            #expect(!order(b).lexicographicallyPrecedes(order(a)), "\(a) sorts before \(b)")
        }
        // The layout, byte for byte.
        let key = CounterKey(kind: .month, definition: 0x0102_0304_0506_0708, card: CardHash(high: 0x1112_1314_1516_1718, low: 0x2122_2324_2526_2728),
                             institution: try Institution("ABCDEFGHIJKLMNOP"), window: 0x5152_5354)
        #expect(key.withBytes { Array($0) } == [
            0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28,  // card
            0x02,  // kind
            0x51, 0x52, 0x53, 0x54,  // window
            0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,  // definition
            0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F, 0x50,  // institution, its code's bytes
        ])
    }

    @Test func storedLayoutsArePinned() {
        #expect(CounterKey.byteCount == 45)
        #expect(CounterValue.byteCount == 16)
        #expect(MemoryLayout<CounterValue>.size == 16)
        #expect(CardLimits(dailyAmountFenMax: 1).encoded.count == 32)
    }

    @Test func counterValuesReportOverflow() {
        let v = CounterValue(amountFen: .max - 1, count: 1)
        #expect(v.adding(amountFen: 2, count: 0) == nil)
        #expect(v.adding(amountFen: 1, count: 1) == CounterValue(amountFen: .max, count: 2))
    }

    @Test func reasonCodesAreStable() {
        // These numbers are published to operators: never renumber them.
        #expect(ReasonCode.approved.rawValue == 0)
        #expect(ReasonCode.exceeds(.regulatory, .day, .amount).rawValue == 131)
        #expect(ReasonCode.exceeds(.bank, .single, .amount).rawValue == 211)
        #expect(ReasonCode.exceeds(.bank, .day, .count).rawValue == 232)
        #expect(ReasonCode.exceeds(.institution, .rollingMinutes(5), .count).rawValue == 322)
        #expect(ReasonCode.exceeds(.card, .month, .amount).rawValue == 441)
        #expect(ReasonCode.exceeds(.regulatory, .year, .amount).rawValue == 151)
        #expect(ReasonCode.exceeds(.bank, .day, .amount).name == "exceedsBankDailyAmount")
        #expect(ReasonCode.exceeds(.card, .single, .amount).name == "exceedsCardSingleAmount")
        #expect(ReasonCode(rawValue: 212) == nil)
        #expect(ReasonCode(rawValue: 999) == nil)
    }

    /// Every row of the reason codes' table, pinned: a number, once published, keeps its name;
    /// rows are only ever added (add them here too).
    @Test func everyReasonCodeIsPinned() {
        let pinned: [(UInt16, String)] = [
            (0, "approved"),
            (111, "exceedsRegulatorySingleAmount"), (121, "exceedsRegulatoryRollingAmount"), (122, "exceedsRegulatoryRollingCount"),
            (131, "exceedsRegulatoryDailyAmount"), (132, "exceedsRegulatoryDailyCount"), (141, "exceedsRegulatoryMonthlyAmount"),
            (142, "exceedsRegulatoryMonthlyCount"), (151, "exceedsRegulatoryYearlyAmount"), (152, "exceedsRegulatoryYearlyCount"),
            (211, "exceedsBankSingleAmount"), (221, "exceedsBankRollingAmount"), (222, "exceedsBankRollingCount"),
            (231, "exceedsBankDailyAmount"), (232, "exceedsBankDailyCount"), (241, "exceedsBankMonthlyAmount"),
            (242, "exceedsBankMonthlyCount"), (251, "exceedsBankYearlyAmount"), (252, "exceedsBankYearlyCount"),
            (311, "exceedsInstitutionSingleAmount"), (321, "exceedsInstitutionRollingAmount"), (322, "exceedsInstitutionRollingCount"),
            (331, "exceedsInstitutionDailyAmount"), (332, "exceedsInstitutionDailyCount"), (341, "exceedsInstitutionMonthlyAmount"),
            (342, "exceedsInstitutionMonthlyCount"), (351, "exceedsInstitutionYearlyAmount"), (352, "exceedsInstitutionYearlyCount"),
            (411, "exceedsCardSingleAmount"), (421, "exceedsCardRollingAmount"), (422, "exceedsCardRollingCount"),
            (431, "exceedsCardDailyAmount"), (432, "exceedsCardDailyCount"), (441, "exceedsCardMonthlyAmount"),
            (442, "exceedsCardMonthlyCount"), (451, "exceedsCardYearlyAmount"), (452, "exceedsCardYearlyCount"),
            (501, "cardOnBlockList"), (502, "agreementOnBlockList"), (503, "merchantOnBlockList"), (504, "institutionOnBlockList"),
            (511, "agreementEnded"), (521, "velocityAmount"), (522, "velocityCount"),
            (531, "newAgreementAmount"), (532, "newAgreementCount"),
        ]
        #expect(ReasonCode.table.count == pinned.count)
        for (row, (number, name)) in zip(ReasonCode.table, pinned) {
            #expect(row.number == number && row.name == name)
            #expect(ReasonCode(rawValue: number)?.name == name)
        }
        #expect(Set(ReasonCode.table.map(\.number)).count == ReasonCode.table.count)
        // Every cap a rule can state has its row.
        for tier in Tier.allCases {
            for window in [Window.single, .rollingMinutes(5), .day, .month, .year] {
                for measure in [Measure.amount, .count] where !(window == .single && measure == .count) {
                    #expect(ReasonCode.table.contains { $0.number == ReasonCode.exceeds(tier, window, measure).rawValue })
                }
            }
        }
    }

    @Test func counterIdentityIsStableAndSharedByEqualDefinitions() {
        let filter = Filter(businesses: [.agreement, .gateway])
        let a = CounterDefinition(grouping: .card, window: .day, filter: filter, refundRestores: false)
        let b = CounterDefinition(grouping: .card, window: .day, filter: Filter(businesses: [.gateway, .agreement]), refundRestores: false)
        let c = CounterDefinition(grouping: .card, window: .day, filter: filter, refundRestores: true)
        #expect(a.id == b.id)
        #expect(a.id != c.id)
        // Pinned: a stored counter's identity must not change between releases, or every
        // store's counters would silently start again from zero.
        #expect(a.id == 0x9ef3_f48f_7515_7a4a)
    }
}
