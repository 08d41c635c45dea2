import { useState } from "react";

/** Copies text to the clipboard and says so. */
export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [copied, setCopied] = useState<"idle" | "copied" | "failed">("idle");
  const copy = () => {
    navigator.clipboard.writeText(text).then(
      () => setCopied("copied"),
      () => setCopied("failed"),
    );
  };
  return (
    <button type="button" className="button" onClick={copy} aria-live="polite">
      {copied === "copied" ? "Copied" : copied === "failed" ? "Copy failed: select and copy" : label}
    </button>
  );
}
