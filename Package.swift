// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Headroom",
    platforms: [.macOS(.v14)],
    products: [
        // The engine: `import Headroom` is all a front processor needs (it re-exports the
        // domain types and the rule loader).
        .library(name: "Headroom", targets: ["Headroom"]),
        // The JSON Lines codec of operations and answers (docs/replay.md), and replay drivers.
        .library(name: "HeadroomReplay", targets: ["HeadroomReplay"]),
        .executable(name: "headroom", targets: ["HeadroomCLI"]),
        // The engine's figures in Prometheus' text format: the factory and textfile writer that
        // the C ABI and `headroom replay --metrics-file` use, for Swift hosts too.
        .library(name: "HeadroomMetrics", targets: ["HeadroomMetrics"]),
        // The C ABI, for front processors in C or Java: include/headroom.h, docs/integration.md.
        // SwiftPM names it libHeadroomC.so (the product `headroom` is the command); its soname is
        // libheadroom.so, and scripts/libheadroom puts it under that name.
        .library(name: "HeadroomC", type: .dynamic, targets: ["HeadroomC"]),
        // Seeded randomness and made-up card numbers, shared by the tests and the benchmarks.
        .library(name: "HeadroomTesting", targets: ["HeadroomTesting"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // The one C boundary: Debian's liblmdb-dev, found through pkg-config.
        .systemLibrary(
            name: "CLMDB",
            pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"])]
        ),
        // The only module that imports CLMDB; knows nothing of payments.
        .target(name: "LMDBKit", dependencies: ["CLMDB"]),
        // The domain, pure: amounts, time, payments, limits, rule sets, decisions.
        .target(name: "HeadroomCore"),
        // Rules/ YAML files -> validated, immutable RuleSet.
        .target(name: "HeadroomRules", dependencies: ["HeadroomCore", .product(name: "Yams", package: "Yams")]),
        // The engine users link.
        .target(
            name: "Headroom",
            dependencies: [
                "HeadroomCore", "HeadroomRules", "LMDBKit",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        // include/headroom.h as a Clang module: the C ABI's structs and constants, shared by the
        // header's C users and its Swift side below.
        .systemLibrary(name: "CHeadroom", path: "include"),
        // The engine's figures in Prometheus' text format (the C ABI's and replay's).
        .target(name: "HeadroomMetrics", dependencies: [.product(name: "Prometheus", package: "swift-prometheus")]),
        // The C ABI (libheadroom.so): include/headroom.h's functions, over a GroupCommitter.
        .target(
            name: "HeadroomC",
            dependencies: [
                "Headroom", "CHeadroom", "HeadroomMetrics",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            linkerSettings: [.unsafeFlags(["-Xlinker", "-soname=libheadroom.so"])]
        ),
        // Operations as JSON Lines, in and out: used by the CLI, the tests and the benchmarks.
        .target(name: "HeadroomReplay", dependencies: ["Headroom"]),
        .executableTarget(
            name: "HeadroomCLI",
            dependencies: [
                "Headroom", "HeadroomReplay",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                "HeadroomMetrics",
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .target(name: "HeadroomTesting", dependencies: ["HeadroomCore"]),
        .testTarget(name: "LMDBKitTests", dependencies: ["LMDBKit"]),
        .testTarget(name: "HeadroomCoreTests", dependencies: ["HeadroomCore", "HeadroomTesting"]),
        .testTarget(name: "HeadroomRulesTests", dependencies: ["HeadroomRules", "HeadroomCore"]),
        .testTarget(name: "HeadroomTests", dependencies: [
            "Headroom", "HeadroomReplay", "LMDBKit", "HeadroomTesting",
            .product(name: "MetricsTestKit", package: "swift-metrics"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The README's examples: this target sees the Headroom library alone.
        .testTarget(name: "LibraryTests", dependencies: ["Headroom"]),
        // The C ABI's statuses and names, from Swift (its calls are tested from C and Java by
        // scripts/test-bindings).
        .testTarget(name: "HeadroomCTests", dependencies: ["HeadroomC", "Headroom", "CHeadroom"]),
        .testTarget(name: "HeadroomCLITests", dependencies: ["HeadroomCLI", "Headroom", "HeadroomReplay", "HeadroomTesting"]),
    ],
    swiftLanguageModes: [.v6]
)
