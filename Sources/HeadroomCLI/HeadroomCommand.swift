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

        Changes (rules, customer limits, purges) record the operator: --operator NAME or \
        $HEADROOM_OPERATOR. Read commands take --format table|json. Shell completions: \
        headroom --generate-completion-script bash|zsh|fish.

        Exit status: 0 done; 1 a check or validation found problems; 2 refused (bad input, dual \
        control, a limit above the bank's, a card key problem); 3 the store failed; 64 bad options.

        Examples:
          headroom replay --store /var/lib/headroom < payments.jsonl
          headroom rules propose Rules --store /var/lib/headroom --operator alice
          headroom usage 6222020200112233446 --institution Z2007933000010 --store /var/lib/headroom
          headroom card-limit set --store /var/lib/headroom --card 6222020200112233446 --daily-amount 5000.00 --operator alice
        """,
        subcommands: [Replay.self, RulesCommand.self, CardLimit.self, Usage.self, Explain.self, StoreCommand.self, Audit.self]
    )
}
