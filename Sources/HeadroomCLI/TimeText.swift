import HeadroomCore

enum HeadroomCoreTime {
    static func iso(_ seconds: Int64) -> String { Timestamp(unixSeconds: seconds).chinaISO8601 }
}
