from interpkernel.cli import main

raise SystemExit(main())
