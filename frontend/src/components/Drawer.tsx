// A side panel for details, as a modal <dialog>: the browser handles focus
// trapping, Escape and the backdrop. Closing it gives focus back to what
// opened it (the row's link), which React's unmounting would otherwise leave
// on <body>.
import { useEffect, useRef, type ReactNode } from "react";

/** Where focus goes back to when a drawer closes: the opener, or the page's main region. */
export function restoreFocus(opener: Element | null) {
  const target = opener instanceof HTMLElement && opener.isConnected && opener !== document.body ? opener : document.getElementById("main");
  target?.focus({ preventScroll: false });
}

export function Drawer({ title, onClose, children }: { title: string; onClose: () => void; children: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    // The element focused before the drawer opened (the link that opened it).
    const opener = document.activeElement;
    if (dialog && !dialog.open) {
      if (typeof dialog.showModal === "function") dialog.showModal();
      else dialog.setAttribute("open", "");
    }
    // After unmounting, once the page under the drawer has re-rendered.
    return () => void requestAnimationFrame(() => restoreFocus(opener));
  }, []);
  return (
    <dialog
      ref={ref}
      className="drawer"
      aria-labelledby="drawer-title"
      onClose={onClose}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
      onClick={(e) => {
        // A click on the backdrop lands on the dialog element itself.
        if (e.target === ref.current) onClose();
      }}
    >
      <div className="drawer-body">
        <header className="drawer-header">
          <h2 id="drawer-title">{title}</h2>
          <button type="button" className="button icon-button" onClick={onClose} aria-label="Close">
            ✕
          </button>
        </header>
        {children}
      </div>
    </dialog>
  );
}
