console.log(
  "@kaudit/watch: the end-to-end benchmark runs from apps/cli (kaudit watch vs kaudit detect)",
);
