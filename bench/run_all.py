"""Run every benchmark; each writes its JSON under bench/results/."""

from bench import data_build

if __name__ == "__main__":
    data_build.main()
