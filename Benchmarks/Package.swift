// swift-tools-version: 6.1
import PackageDescription

// The benchmark harness: its own package, so the engine's package carries no benchmark
// dependencies. Peers (raw C on liblmdb, SQLite, Redis) are small C programs in peers/,
// built by scripts/bench.
let package = Package(
    name: "HeadroomBenchmarks",
    platforms: [.macOS(.v14)],
    products: [.executable(name: "headroom-bench", targets: ["HeadroomBench"])],
    dependencies: [
        .package(name: "Headroom", path: ".."),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .executableTarget(
            name: "HeadroomBench",
            dependencies: [
                .product(name: "Headroom", package: "Headroom"),
                .product(name: "HeadroomTesting", package: "Headroom"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HeadroomMetrics", package: "Headroom"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
