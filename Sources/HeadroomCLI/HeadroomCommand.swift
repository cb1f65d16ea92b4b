import ArgumentParser

@main
struct HeadroomCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "headroom",
        abstract: "Three-tier limit and risk checks for a NetsUnion front processor, over an LMDB store.",
        discussion: """
        A store is a directory. Card numbers are kept only as a keyed hash: the key comes from \
        $HEADROOM_CARD_KEY (64 hex digits) or a key file (--card-key-file, default \
        ~/.config/headroom/card.key, created with mode 0600 on first use).

        Examples:
          headroom replay --store /var/lib/headroom < payments.jsonl
          headroom card-limit set --store /var/lib/headroom --card 6222020200112233446 --daily-amount 5000.00
        """,
        subcommands: [Replay.self, CardLimit.self]
    )
}
