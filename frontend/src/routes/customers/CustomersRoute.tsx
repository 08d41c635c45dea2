// Customers: open one customer's view by id.
import { useState } from "react";
import { useNavigate } from "react-router";
import { isCustomerID } from "../../api/customers";

export function CustomersRoute() {
  const navigate = useNavigate();
  const [id, setId] = useState("");
  const [invalid, setInvalid] = useState(false);
  return (
    <section className="card" aria-labelledby="customers-title">
      <h2 id="customers-title">Find a customer</h2>
      <p className="muted">Everything hooklens knows about one Dwolla customer: status, banks, transfers and their outcomes, journeys and events.</p>
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (!isCustomerID(id)) {
            setInvalid(true);
            return;
          }
          void navigate(`/customers/${encodeURIComponent(id.trim().toLowerCase())}`);
        }}
      >
        <div className="field">
          <label htmlFor="customer-id">Customer id</label>
          <input
            id="customer-id"
            name="customerID"
            value={id}
            spellCheck={false}
            aria-invalid={invalid}
            onChange={(e) => {
              setId(e.target.value);
              setInvalid(false);
            }}
          />
        </div>
        <button type="submit" className="button">
          Open
        </button>
      </form>
      {invalid && <p className="error-message">A customer id is a Dwolla UUID.</p>}
    </section>
  );
}
