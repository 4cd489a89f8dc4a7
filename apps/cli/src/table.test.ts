import { describe, expect, it } from "vitest";
import { renderTable } from "./table";

describe("renderTable", () => {
  it("pads columns and right-aligns numbers", () => {
    expect(
      renderTable(
        ["name", "n"],
        [
          ["a", "1"],
          ["bbb", "22"],
        ],
        [false, true],
      ),
    ).toBe("name   n\n----  --\na      1\nbbb   22");
  });
});
